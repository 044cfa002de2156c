/**
 * The Stripe stand-in, one module per Stripe resource; see ../stripe.ts for what it does and its control endpoints.
 * Every module is plain functions over one shared State (model.ts); nothing lives in a closure.
 */
import { control } from "./control";
import { ApiError, errorResponse, invalid } from "./core";
import { createState, type StripeStandin, type StripeStandinOptions } from "./model";
import { invoicePage, payPage } from "./pages";
import { handleApi } from "./pipeline";
import { portalPage } from "./portal";

export { decodeForm } from "./core";
export { signPayload } from "./events";
export type { EventRecordView, StripeStandin, StripeStandinOptions } from "./model";

export function createStripeStandin(options: StripeStandinOptions): StripeStandin {
  const st = createState(options);
  return {
    async handle(request: Request): Promise<Response> {
      const url = new URL(request.url);
      try {
        if (url.pathname.startsWith("/v1/")) return await handleApi(st, request, url);
        if (url.pathname.startsWith("/__control/")) return await control(st, request, url);
        const payRoute = /^\/pay\/([^/]+)$/.exec(url.pathname);
        if (payRoute?.[1] && request.method === "GET") return payPage(st, url, decodeURIComponent(payRoute[1]));
        const portal = /^\/portal\/([^/]+)$/.exec(url.pathname);
        if (portal?.[1] && request.method === "GET") return portalPage(st, decodeURIComponent(portal[1]));
        const page = /^\/invoice\/([^/]+)(\/pdf)?$/.exec(url.pathname);
        if (page?.[1] && request.method === "GET") {
          return invoicePage(st, decodeURIComponent(page[1]), page[2] !== undefined);
        }
        return errorResponse(invalid(`Unrecognized request URL (${request.method}: ${url.pathname}).`));
      } catch (error) {
        if (error instanceof ApiError) return errorResponse(error);
        throw error;
      }
    },
  };
}
