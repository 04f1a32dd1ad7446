// Every page of the console: its routes (a pattern of the path and the function that draws
// it) and its entries in the bar's navigation (shown to whom `show(me)` says). A page is
// for our staff unless it names its `audience` (me => bool): a customer user's and a
// partner user's own pages do, and such a user is shown those pages only.

import * as audit from "./audit.js";
import * as serviceCase from "./case.js";
import * as customer from "./customer.js";
import * as decisions from "./decisions.js";
import * as marketing from "./marketing.js";
import * as myDay from "./my-day.js";
import * as people from "./people.js";
import * as search from "./search.js";
import * as shipment from "./shipment.js";
import * as partner from "./partner.js";
import * as selfService from "./self-service.js";

const PAGES = [
  myDay,
  search,
  customer,
  decisions,
  marketing,
  people,
  audit,
  shipment,
  selfService,
  partner,
  serviceCase,
];

/** Our staff: neither a customer's user nor a partner's. */
export const isStaff = (me) => Boolean(me) && !me.customer_id && !me.partner_id;

const pagesFor = (me) => PAGES.filter((page) => (page.audience || isStaff)(me));

export const ROUTES = PAGES.flatMap((page) => page.routes);
export const NAV = PAGES.flatMap((page) => page.nav);

/** The routes `me` may open (the first that matches draws the page). */
export const routesFor = (me) => pagesFor(me).flatMap((page) => page.routes);
/** The bar's entries shown to `me`. */
export const navFor = (me) => pagesFor(me).flatMap((page) => page.nav).filter((entry) => entry.show(me));
