// The companion's HTTP API on 127.0.0.1. The token travels in the Authorization header only;
// the browser adds our extension Origin, which the companion pinned when we paired.
import { Failure } from "./failure.js";

export const companion = {
  PING_TIMEOUT_MS: 3000,
  LOOK_TIMEOUT_MS: 120000,
  PAIR_TIMEOUT_MS: 130000, // the companion waits up to 120 s for the user to type the code

  url(port, path) {
    return `http://127.0.0.1:${port}${path}`;
  },

  /** The answer's JSON; a failure (network or the companion's error envelope) throws. */
  async call(settings, path, options) {
    return (await this.exchange(settings, path, options)).json;
  },

  /** {json, headers} of one request to the companion. */
  async exchange(settings, path, { method = "GET", body, auth = true, timeoutMs }) {
    const headers = {};
    if (auth) {
      if (!settings.token) throw new Failure("not_paired");
      headers.Authorization = `Bearer ${settings.token}`;
    }
    if (body !== undefined && !(body instanceof FormData)) {
      headers["Content-Type"] = "application/json";
      body = JSON.stringify(body);
    }
    const controller = new AbortController();
    const timer = setTimeout(() => controller.abort(), timeoutMs);
    let response;
    try {
      response = await fetch(this.url(settings.port, path), {
        method, headers, body, signal: controller.signal, credentials: "omit", cache: "no-store",
      });
    } catch (error) {
      throw new Failure(
        error.name === "AbortError" ? "companion_timeout" : "companion_not_running", error.message);
    } finally {
      clearTimeout(timer);
    }
    let json;
    try {
      json = await response.json();
    } catch {
      throw new Failure("companion_bad_answer", `HTTP ${response.status}`);
    }
    if (!response.ok) {
      const failure = new Failure(json?.error?.code ?? "unexpected", json?.error?.message ?? "");
      // 429 (pairing locked) says when to try again, in seconds
      failure.retryAfter = Number(response.headers.get("Retry-After")) || 0;
      throw failure;
    }
    return { json, headers: response.headers };
  },

  /** {app, api, version, ready} when a companion listens on the port; `ready` is false while
   * it loads its models at start (a look sent then waits for them). */
  async ping(settings) {
    const answer = await this.call(settings, "/v1/ping", { auth: false, timeoutMs: this.PING_TIMEOUT_MS });
    if (answer.app !== "shop-the-look") throw new Failure("companion_not_running", "not ours");
    return answer;
  },

  /** Checks that our token still works (the options page's "Test connection"). */
  session(settings) {
    // A POST: Chrome adds our Origin (which the companion checks) to POSTs, not to GETs.
    return this.call(settings, "/v1/session", { method: "POST", timeoutMs: this.PING_TIMEOUT_MS });
  },

  /** Waits while the user types `code` (shown on the options page) into the companion;
   * resolves to the new token. Closing the page withdraws the companion's question. */
  async pair(settings, code) {
    const answer = await this.call(settings, "/v1/pair", {
      method: "POST", body: { code }, auth: false, timeoutMs: this.PAIR_TIMEOUT_MS,
    });
    return answer.token;
  },

  /** Asks the companion to forget our pairing; the token stops working there. */
  unpair(settings) {
    return this.call(settings, "/v1/unpair", { method: "POST", timeoutMs: this.PING_TIMEOUT_MS });
  },

  /** {look, inPanel}: the look JSON (as `shop-the-look look --json` prints it) and whether the
   * companion shows it in its window (not when it runs with --no-panel). */
  async look(settings, blob, { pageUrl = "", imageUrl = "" } = {}) {
    const form = new FormData();
    form.append("image", blob, "image");
    if (pageUrl) form.append("page_url", pageUrl);
    if (imageUrl) form.append("image_url", imageUrl);
    const { json, headers } = await this.exchange(settings, "/v1/looks", {
      method: "POST", body: form, timeoutMs: this.LOOK_TIMEOUT_MS,
    });
    return { look: json, inPanel: headers.get("Shop-The-Look-Results") === "panel" };
  },
};
