// What the extension remembers, all in storage.local: the port, the pairing token, the last
// outcome (the options page shows it; tests read it). Nothing is ever synced off this computer.
"use strict";

STL.DEFAULT_PORT = 17317; // the companion's default (`shop-the-look serve`)

STL.settings = {
  async load() {
    const stored = await STL.api.storage.local.get(["port", "token", "pairedAt"]);
    return {
      port: Number.isInteger(stored.port) ? stored.port : STL.DEFAULT_PORT,
      token: typeof stored.token === "string" ? stored.token : "",
      pairedAt: stored.pairedAt ?? null,
    };
  },
  async savePort(port) {
    await STL.api.storage.local.set({ port });
  },
  async savePairing(token) {
    await STL.api.storage.local.set({ token, pairedAt: new Date().toISOString() });
  },
  async forgetPairing() {
    await STL.api.storage.local.remove(["token", "pairedAt"]);
  },
  /** `result`: {ok, code?, garments?, matches?, people?, image?}; stamped with the time. */
  async recordResult(result) {
    await STL.api.storage.local.set({ lastResult: { ...result, at: new Date().toISOString() } });
  },
  async lastResult() {
    return (await STL.api.storage.local.get("lastResult")).lastResult ?? null;
  },
};
