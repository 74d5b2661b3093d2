// One name for the WebExtension API in the background and the options page: Firefox's
// promise-based `browser`, or Chrome's `chrome` (promise-based in Manifest V3). Per-browser
// differences live here only; the content scripts, which cannot import modules, have
// content/api.js.

export const api = globalThis.browser ?? globalThis.chrome;
export const menus = api.contextMenus ?? api.menus;

/** A localised message; `substitutions` fill $1, $2… in messages.json. */
export const t = (key, substitutions) => api.i18n.getMessage(key, substitutions) || key;
