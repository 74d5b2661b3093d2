// "Shop this look": image bytes → companion → tell the user. The results themselves open in
// the companion's window; here we only report the outcome.
"use strict";

STL.shopThisLook = async (info, tab) => {
  try {
    const settings = await STL.settings.load();
    if (!settings.token) throw new STL.Failure("not_paired");
    await STL.notify(tab, "progress", STL.t("lookWorking"));
    const image = await STL.image.obtain(info, tab);
    const { look, inPanel } = await STL.companion.look(settings, image.blob, {
      pageUrl: info.pageUrl ?? tab?.url ?? "",
      imageUrl: image.url,
    });
    const garments = look.items.length;
    const matches = look.items.reduce((sum, item) => sum + item.matches.length, 0);
    if (garments === 0 || matches === 0) throw new STL.Failure("no_garments");
    await STL.settings.recordResult({
      ok: true, garments, matches, people: look.people.length, image: look.image, inPanel,
    });
    const counts = [String(garments), String(matches)];
    await STL.notify(tab, "success", STL.t(inPanel ? "lookDone" : "lookDoneNoPanel", counts));
  } catch (error) {
    const code = error instanceof STL.Failure ? error.code : "unexpected";
    if (!(error instanceof STL.Failure)) console.error("Shop the Look:", error);
    await STL.settings.recordResult({ ok: false, code });
    await STL.notify(tab, "error", STL.describeFailure(error));
  }
};
