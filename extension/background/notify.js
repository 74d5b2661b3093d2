// Telling the user what happened: a small toast in the page, or a system notification where
// the page cannot show one (browser pages, PDFs, pages open since before the install).
import { api, t } from "../utils/api.js";
import { BRAND } from "../utils/brand.js";

export const notify = async (tab, kind, text) => {
  if (tab?.id >= 0) {
    try {
      await api.tabs.sendMessage(tab.id, { type: "stl:toast", kind, text, colour: BRAND.colours.accent }, { frameId: 0 });
      return;
    } catch {
      // fall back to a notification
    }
  }
  try {
    await api.notifications.create({
      type: "basic",
      iconUrl: api.runtime.getURL("icons/icon-128.png"),
      title: t("extName"),
      message: text,
    });
  } catch (error) {
    console.warn("Shop the Look: could not tell the user:", text, error);
  }
};
