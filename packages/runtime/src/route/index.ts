export { MAX_ROUTE_LENGTH, Route, route, type RouteLike } from "./route.js";
