// Every page of the console: its routes (a pattern of the path and the function that draws
// it) and its entries in the bar's navigation (shown to whom `show(me)` says).

import * as audit from "./audit.js";
import * as customer from "./customer.js";
import * as decisions from "./decisions.js";
import * as marketing from "./marketing.js";
import * as myDay from "./my-day.js";
import * as people from "./people.js";
import * as search from "./search.js";
import * as shipment from "./shipment.js";

const PAGES = [
  myDay,
  search,
  customer,
  decisions,
  marketing,
  people,
  audit,
  shipment,
];

export const ROUTES = PAGES.flatMap((page) => page.routes);
export const NAV = PAGES.flatMap((page) => page.nav);
