// What the extension remembers, all in storage.local: the port, the pairing token, the last
// outcome (the options page shows it; tests read it). Nothing is ever synced off this computer.
import { api } from "./api.js";
import { BRAND } from "./brand.js";

const DEFAULT_PORT = BRAND.port; // the companion's default (`shop-the-look serve`)

export const loadSettings = async () => {
  const stored = await api.storage.local.get(["port", "token", "pairedAt"]);
  return {
    port: Number.isInteger(stored.port) ? stored.port : DEFAULT_PORT,
    token: typeof stored.token === "string" ? stored.token : "",
    pairedAt: stored.pairedAt ?? null,
  };
};

export const savePort = async (port) => {
  await api.storage.local.set({ port });
};

export const savePairing = async (token) => {
  await api.storage.local.set({ token, pairedAt: new Date().toISOString() });
};

export const forgetPairing = async () => {
  await api.storage.local.remove(["token", "pairedAt"]);
};

/** `result`: {ok, code?, garments?, matches?, people?, image?}; stamped with the time. */
export const recordResult = async (result) => {
  await api.storage.local.set({ lastResult: { ...result, at: new Date().toISOString() } });
};

export const lastResult = async () =>
  (await api.storage.local.get("lastResult")).lastResult ?? null;
