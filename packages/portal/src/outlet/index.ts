export { createOutlet, Outlet } from "./outlet.js";
