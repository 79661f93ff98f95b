export { Route, route, type RouteLike } from "./route.js";
