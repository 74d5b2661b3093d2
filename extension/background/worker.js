// The background's entry point, the one file the manifest names: an ES module that Chrome runs
// as the service worker and Firefox as the background script. It imports everything else, so
// the list of background files is this module's imports and nowhere else. Listeners are
// registered at the top level, as a service worker that wakes for an event needs.
import { api, menus } from "../utils/api.js";
import { createMenus, MENU_ID } from "./menu.js";
import { shopThisLook } from "./shop.js";

api.runtime.onInstalled.addListener(() => createMenus());
api.runtime.onStartup.addListener(() => createMenus());

menus.onClicked.addListener((info, tab) => {
  if (info.menuItemId === MENU_ID) return shopThisLook(info, tab);
  return undefined;
});

api.action.onClicked.addListener(() => api.runtime.openOptionsPage());
