import { Packr } from "msgpackr";

/**
 * One msgpackr instance for the whole runtime. Records are off so that every envelope is
 * plain msgpack that another implementation can read.
 */
export const packr = new Packr({ useRecords: false, moreTypes: false, mapsAsObjects: true });
