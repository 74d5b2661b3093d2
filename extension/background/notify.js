// Telling the user what happened: a small toast in the page, or a system notification where
// the page cannot show one (browser pages, PDFs, pages open since before the install).
"use strict";

STL.notify = async (tab, kind, text) => {
  if (tab?.id >= 0) {
    try {
      await STL.api.tabs.sendMessage(tab.id, { type: "stl:toast", kind, text }, { frameId: 0 });
      return;
    } catch {
      // fall back to a notification
    }
  }
  try {
    await STL.api.notifications.create({
      type: "basic",
      iconUrl: STL.api.runtime.getURL("icons/icon-128.png"),
      title: STL.t("extName"),
      message: text,
    });
  } catch (error) {
    console.warn("Shop the Look: could not tell the user:", text, error);
  }
};
