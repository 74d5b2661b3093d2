/* Shop the Look panel: draws the layout data Python sends (companion/panel/layout.py) and sends
   the user's actions back through pywebview's js_api. Text comes only from the message
   catalogue; product data is set as text, never as HTML. */
"use strict";

(function () {
  const $ = (id) => document.getElementById(id);
  let messages = {};
  let current = null; // last payload
  let selected = null; // garment id
  let busy = false;
  const morePeopleOpen = new Set(); // looks whose "More people" rows the user expanded
  let lookCount = 0;

  // --- helpers ---------------------------------------------------------------------
  function t(key, vars) {
    let text = messages[key] || key;
    for (const [name, value] of Object.entries(vars || {})) text = text.replace(`{${name}}`, value);
    return text;
  }

  function h(tag, attrs, ...children) {
    const node = document.createElement(tag);
    for (const [name, value] of Object.entries(attrs || {})) {
      if (value === null || value === undefined || value === false) continue;
      if (name === "class") node.className = value;
      else if (name === "text") node.textContent = value;
      else if (name === "style") Object.assign(node.style, value);
      else if (name.startsWith("on")) node.addEventListener(name.slice(2), value);
      else node.setAttribute(name, value === true ? "" : value);
    }
    for (const child of children.flat()) if (child) node.append(child);
    return node;
  }

  const safeImage = (src) => (/^(data:image\/|https?:\/\/)/.test(src || "") ? src : "");
  const percent = (value) => `${(value * 100).toFixed(3)}%`;

  function api() {
    if (window.pywebview && window.pywebview.api) return Promise.resolve(window.pywebview.api);
    return new Promise((resolve) =>
      window.addEventListener("pywebviewready", () => resolve(window.pywebview.api), { once: true }));
  }

  async function act(method, ...args) {
    if (busy) return null;
    setBusy(true);
    try {
      const answer = await (await api())[method](...args);
      if (answer && answer.error) toast(answer.error);
      else if (answer && answer.layout) render(answer);
      return answer;
    } catch (error) {
      toast({ code: "failed", message: String(error) });
      return null;
    } finally {
      setBusy(false);
    }
  }

  function setBusy(value) {
    busy = value;
    $("busy").hidden = !value;
    document.querySelectorAll(".filter button, .chip-button, .ask-gender button").forEach((b) => { b.disabled = value; });
  }

  let toastTimer = null;
  function toast(error) {
    const key = `action.${error.code}`;
    $("toast").textContent = messages[key] ? t(key) : t("action.failed", { message: error.message });
    $("toast").hidden = false;
    clearTimeout(toastTimer);
    toastTimer = setTimeout(() => { $("toast").hidden = true; }, 4500);
  }

  function translateStatic() {
    document.querySelectorAll("[data-i18n]").forEach((n) => { n.textContent = t(n.dataset.i18n); });
    document.querySelectorAll("[data-i18n-label]").forEach((n) => {
      n.setAttribute("aria-label", t(n.dataset.i18nLabel));
      n.title = t(n.dataset.i18nLabel);
    });
    $("photo").alt = t("photo.alt");
  }

  // --- rendering --------------------------------------------------------------------
  function render(payload) {
    current = payload;
    const layout = payload.layout;
    const session = payload.session || {};
    $("main").dataset.state = layout.state;
    document.querySelector(".keys").hidden = layout.state !== "look";
    $("looks").hidden = !(session.count > 1);
    $("look-counter").textContent = t("look.counter", { i: session.index + 1, n: session.count });
    $("look-prev").disabled = session.index <= 0;
    $("look-next").disabled = session.index >= session.count - 1;
    $("filter").hidden = layout.state !== "look";
    $("age-filter").hidden = layout.state !== "look";
    document.querySelectorAll(".filter button").forEach((b) => {
      const checked = b.dataset.age ? b.dataset.age === (session.age_group || "adult")
        : b.dataset.gender === (session.gender || "auto");
      b.setAttribute("aria-checked", String(checked));
      b.disabled = !session.can_search;
    });
    if (layout.state === "look") renderLook(layout, payload.photo, session);
    else renderState(layout);
  }

  function renderState(layout) {
    $("photo-pane").hidden = true;
    $("results").hidden = true;
    $("state").hidden = false;
    const icon = $("state-icon");
    if (layout.state === "error") {
      icon.innerHTML = '<path d="M12 3l10 18H2L12 3z"/><path d="M12 10v5"/><path d="M12 18h.01"/>';
      $("state-title").textContent = t(layout.title_key);
      $("state-hint").textContent = t(layout.hint_key);
      $("state-detail").textContent = layout.detail || "";
      $("state-detail").hidden = !layout.detail;
    } else if (layout.state === "pairing") {
      // first run: nothing is paired yet, so the window says how, step by step
      icon.innerHTML = '<path d="M10 14a4 4 0 0 0 5.7 0l3-3a4 4 0 0 0-5.7-5.7l-1 1"/><path d="M14 10a4 4 0 0 0-5.7 0l-3 3a4 4 0 0 0 5.7 5.7l1-1"/>';
      const vars = { name: layout.name, port: layout.port };
      $("state-title").textContent = t("pairing_step.title", vars);
      $("state-hint").textContent = t("pairing_step.hint", vars);
      $("state-detail").hidden = true;
    } else {
      icon.innerHTML = '<rect x="3" y="5" width="18" height="14" rx="2"/><circle cx="9" cy="10" r="2"/><path d="M21 16l-5-5-8 8"/>';
      $("state-title").textContent = t("waiting.title");
      $("state-hint").textContent = t("waiting.hint");
      $("state-detail").hidden = true;
    }
    $("state-steps").replaceChildren(...(layout.state === "pairing"
      ? ["pairing_step.one", "pairing_step.two", "pairing_step.three"].map((key) =>
        h("li", { text: t(key, { name: layout.name, port: layout.port }) }))
      : []));
    $("state-steps").hidden = layout.state !== "pairing";
  }

  // The retailer's name, colours and logo (companion/branding.py); Shop the Look's own by default.
  function applyBrand(brand) {
    if (!brand) return;
    document.title = brand.name;
    document.querySelectorAll(".brand-name").forEach((n) => { n.textContent = brand.name; });
    const names = { accent: "--accent", accent_soft: "--accent-soft", background: "--bg" };
    for (const [key, value] of Object.entries(brand.colours || {})) {
      if (names[key] && /^#[0-9a-f]{6}$/i.test(value)) document.documentElement.style.setProperty(names[key], value);
    }
    const logo = safeImage(brand.logo);
    if (logo) document.querySelector(".logo").replaceWith(h("img", { class: "logo", src: logo, alt: "" }));
  }

  function renderLook(layout, photo, session) {
    if (session.count !== lookCount) morePeopleOpen.clear(); // a new look starts collapsed
    lookCount = session.count;
    $("state").hidden = true;
    $("photo-pane").hidden = false;
    $("results").hidden = false;
    const img = $("photo");
    if (img.getAttribute("src") !== photo) {
      img.onload = fitPhoto;
      img.src = safeImage(photo);
    }
    $("stage").hidden = !photo;
    $("stage").classList.toggle("searchable", !!session.can_search);
    document.querySelector(".photo-hint").hidden = !session.can_search;
    const ids = layout.garments.map((g) => g.id);
    selected = ids.includes(layout.selected) ? layout.selected : (ids.includes(selected) ? selected : ids[0] || null);
    renderOverlay(layout);
    renderResults(layout, session);
    showMorePeople(lookKey(session), layout.more_people && morePeopleOpen.has(lookKey(session)));
    const chosen = layout.garments.find((g) => g.id === selected);
    markSelected(Boolean(chosen && chosen.drawn)); // a box just drawn: bring its results into view
    fitPhoto();
  }

  // The photo as large as its pane allows, small pictures (product shots) scaled up too.
  function fitPhoto() {
    const img = $("photo");
    const pane = $("photo-pane");
    if (!img.naturalWidth || pane.hidden) return;
    const hint = document.querySelector(".photo-hint");
    const room = { w: pane.clientWidth, h: pane.clientHeight - (hint.hidden ? 0 : hint.offsetHeight + 8) };
    const scale = Math.min(room.w / img.naturalWidth, room.h / img.naturalHeight);
    img.style.width = `${Math.floor(img.naturalWidth * scale)}px`;
    img.style.height = `${Math.floor(img.naturalHeight * scale)}px`;
  }

  function boxStyle(box) {
    return { left: percent(box.left), top: percent(box.top), width: percent(box.width), height: percent(box.height) };
  }

  function renderOverlay(layout) {
    const overlay = $("overlay");
    overlay.replaceChildren();
    layout.people.forEach((person) => {
      const score = person.gender === "unknown" ? "" : ` ${Math.round(person.gender_score * 100)}%`;
      const background = person.background && layout.more_people ? " background" : "";
      overlay.append(h("div", { class: `box person-box${background}`, "data-person": person.id, style: boxStyle(person.box) },
        h("span", { class: "box-label", text: t(person.label_key) + score })));
    });
    layout.garments.forEach((garment) => {
      const inside = garment.box.top < 0.04 || underOuterLayer(garment, layout.garments);
      const background = garment.collapsed ? " background" : "";
      overlay.append(h("button", {
        type: "button", class: `box garment-box${inside ? " inside" : ""}${background}`, "data-garment": garment.id,
        "data-category": garment.category, "data-class": garment.fine_class || null, style: boxStyle(garment.box), tabindex: "-1",
        "aria-label": garmentName(garment),
        onclick: (event) => { event.stopPropagation(); select(garment.id, true); },
      }, h("span", { class: "box-label", text: garmentName(garment) })));
    });
  }

  // A garment whose top edge lies along a larger one's (a top under an open jacket): its label
  // goes inside its box, so the two labels do not cover each other.
  function underOuterLayer(garment, garments) {
    const { left, top, width, height } = garment.box;
    return garments.some((other) => other !== garment && other.collapsed === garment.collapsed
      && other.box.width * other.box.height > width * height && Math.abs(other.box.top - top) < 0.04
      && other.box.left < left + width && left < other.box.left + other.box.width);
  }

  function garmentName(garment) {
    return garment.drawn ? t("garment.drawn") : t(garment.label_key);
  }

  function renderResults(layout, session) {
    const results = $("results");
    results.replaceChildren();
    layout.notices.forEach((notice) => results.append(h("div", { class: "notice", "data-notice": notice, text: t(`notice.${notice}`) })));
    const more = layout.more_people ? renderMorePeople(layout.more_people, session) : null;
    let drawnNumber = 0;
    const asked = new Set();
    layout.garments.forEach((garment) => {
      const region = garment.drawn ? drawnNumber++ : null;
      const person = garment.drawn ? null : layout.people[garment.person];
      const where = garment.collapsed ? more.querySelector(".more-rows") : results;
      if (person && person.asks_gender && !asked.has(person.id)) {
        asked.add(person.id); // one question, above the first of that person's rows
        where.append(renderGenderQuestion(person, garment.person, layout.people.length > 1));
      }
      where.append(renderGarment(garment, layout, session, region));
    });
    if (more) results.append(more);
  }

  // A person the look could not tell the gender of: the shopper says whose products to show
  // (Women / Men) instead of both mixed; the answer re-runs that person's rows and stays.
  function renderGenderQuestion(person, number, several) {
    const chosen = person.chosen_gender;
    const vars = { n: number + 1 };
    const title = `gender_ask.${chosen ? "answered" : "title"}${several ? "_person" : ""}`;
    const choice = (gender) => h("button", {
      type: "button", role: "radio", "data-gender": gender, "aria-checked": String(chosen === gender),
      disabled: busy, text: t(`filter.${gender}`),
      onclick: (event) => { event.stopPropagation(); if (chosen !== gender) act("set_person_gender", number, gender); },
    });
    return h("div", { class: `ask-gender${chosen ? " answered" : ""}`, "data-person": person.id },
      chosen ? null : h("span", { class: "ask-icon", "aria-hidden": "true", text: "?" }),
      h("div", { class: "ask-text" },
        h("div", { class: "ask-title", id: `ask-${person.id}`, text: t(title, vars) }),
        chosen ? null : h("div", { class: "ask-hint", text: t("gender_ask.hint") })),
      h("div", { class: "segmented", role: "radiogroup", "aria-labelledby": `ask-${person.id}` },
        choice("female"), choice("male")));
  }

  // Background people's rows, behind one control that a keyboard opens too (details/summary).
  function renderMorePeople(more, session) {
    const key = lookKey(session);
    const garments = more.garments === 1 ? t("more_people.garment", { n: 1 }) : t("more_people.garments", { n: more.garments });
    const details = h("details", { class: "more-people", id: "more-people" },
      h("summary", { class: "more-summary" },
        h("span", { class: "chevron", "aria-hidden": "true" }),
        h("span", { class: "more-title", text: t("more_people.title", { n: more.people }) }),
        h("span", { class: "garment-sub", text: garments })),
      h("div", { class: "more-rows" }));
    details.open = morePeopleOpen.has(key);
    details.addEventListener("toggle", () => showMorePeople(key, details.open));
    return details;
  }

  function showMorePeople(key, open) {
    if (open) morePeopleOpen.add(key);
    else morePeopleOpen.delete(key);
    $("stage").classList.toggle("more-people-open", Boolean(open));
    if (!open && selected && document.querySelector(`.more-rows [data-garment="${selected}"]`)) {
      const first = garmentIds()[0];
      if (first) select(first, false); // the selection never hides inside a closed group
    }
  }

  const lookKey = (session) => `${session.index}:${session.source || ""}`;

  function renderGarment(garment, layout, session, region) {
    const sub = [];
    if (garment.person !== null && garment.person !== undefined && layout.people.length > 1)
      sub.push(t("garment.of_person", { n: garment.person + 1 }));
    if (garment.whole_photo && layout.people.length) sub.push(t("garment.whole_photo"));
    const waits = garment.awaits_gender;
    if (!waits) sub.push(t("garment.products", { n: garment.cards.length }));
    const actions = h("div", { class: "garment-actions" },
      session.can_search && !garment.drawn && garment.cards.length && !waits
        ? h("button", { type: "button", class: "chip-button", text: t("garment.more"), onclick: () => act("more_results", garment.category) })
        : null,
      garment.drawn
        ? h("button", { type: "button", class: "chip-button", text: t("garment.remove"), onclick: () => act("remove_region", region) })
        : null);
    const cards = waits ? [] : garment.cards.map((card, n) => renderCard(card, garment, n));
    const body = cards.length ? h("div", { class: "cards", role: "list" }, cards)
      : (waits ? null : h("p", { class: "garment-empty", text: t("garment.empty") }));
    return h("section", {
      class: `garment${garment.collapsed ? " background" : ""}${waits ? " waiting" : ""}`,
      "data-garment": garment.id, "data-category": garment.category,
      "data-class": garment.fine_class || null, onclick: () => select(garment.id, false),
    },
    h("div", { class: "garment-head" },
      h("span", { class: "dot" }),
      h("span", { class: "garment-title", text: garmentName(garment) }),
      sub.length ? h("span", { class: "garment-sub", text: sub.join(" · ") }) : null,
      waits ? h("span", { class: "garment-waiting", text: t("gender_ask.waiting") }) : null,
      actions),
    body);
  }

  function renderCard(card, garment, n) {
    const src = safeImage(card.image);
    const exact = card.label === "exact";
    return h("button", {
      type: "button", class: `card${exact ? " exact" : ""}`, role: "listitem", "data-product": card.id,
      tabindex: "-1", "aria-label": t("card.open", { title: card.title }), title: card.title,
      onclick: (event) => { event.stopPropagation(); select(garment.id, false); focusCard(garment.id, n); act("open_product", card.id, card.shop || ""); },
    },
    h("div", { class: "card-image" },
      src ? h("img", { src, alt: "", loading: "lazy", draggable: "false" }) : h("span", { class: "missing", text: t("card.no_image") }),
      h("span", { class: `badge ${card.label}`, text: t(`card.${card.label}`) })),
    h("div", { class: "card-body" },
      h("div", { class: "card-title", text: card.title }),
      card.shop_label ? h("div", { class: "card-shop", text: t("card.shop", { shop: card.shop_label }) }) : null,
      h("div", { class: "card-meta" },
        h("span", { class: "price", text: card.price }),
        card.availability ? h("span", { class: `stock ${card.availability}`, text: t(`availability.${card.availability}`) }) : null)));
  }

  // --- selection and keyboard --------------------------------------------------------
  function select(id, scroll) {
    selected = id;
    markSelected(scroll);
  }

  function markSelected(scroll) {
    document.querySelectorAll("[data-garment]").forEach((node) => node.classList.toggle("selected", node.dataset.garment === selected));
    document.querySelectorAll(".garment").forEach((section) => {
      const cards = section.querySelectorAll(".card");
      const active = section.dataset.garment === selected;
      cards.forEach((card, n) => { card.tabIndex = active && n === 0 ? 0 : -1; });
      if (active && !cards.length) section.tabIndex = 0;
    });
    if (scroll) {
      const section = document.querySelector(`.garment[data-garment="${selected}"]`);
      if (section) section.scrollIntoView({ block: "nearest", behavior: "smooth" });
    }
  }

  // The rows a shopper can see: not those inside a closed "More people" group.
  function garmentIds() {
    return [...document.querySelectorAll(".garment")]
      .filter((s) => !s.closest("details:not([open])")).map((s) => s.dataset.garment);
  }

  function focusCard(id, n) {
    const cards = document.querySelectorAll(`.garment[data-garment="${id}"] .card`);
    if (!cards.length) return;
    const card = cards[Math.max(0, Math.min(n, cards.length - 1))];
    cards.forEach((c) => { c.tabIndex = c === card ? 0 : -1; });
    card.focus();
    card.scrollIntoView({ block: "nearest", inline: "nearest" });
  }

  function onKey(event) {
    if (!current || current.layout.state !== "look") return;
    const ids = garmentIds();
    if (!ids.length) return;
    const focused = document.activeElement && document.activeElement.closest(".card");
    const cards = [...document.querySelectorAll(`.garment[data-garment="${selected}"] .card`)];
    const position = focused ? cards.indexOf(focused) : -1;
    const row = Math.max(0, ids.indexOf(selected));
    if (event.key === "ArrowDown" || event.key === "ArrowUp") {
      const next = ids[(row + (event.key === "ArrowDown" ? 1 : ids.length - 1)) % ids.length];
      select(next, true);
      focusCard(next, Math.max(position, 0));
    } else if (event.key === "ArrowRight" || event.key === "ArrowLeft") {
      focusCard(selected, position + (event.key === "ArrowRight" ? 1 : -1));
    } else if ((event.key === "Enter" || event.key === " ") && focused) {
      focused.click(); // one path for mouse and keyboard: opens the product
    } else if (event.key === "Escape") {
      cancelDrawing();
      return;
    } else {
      return;
    }
    event.preventDefault();
  }

  // --- drawing a region ---------------------------------------------------------------
  let drawing = null;
  function stagePoint(event) {
    const rect = $("overlay").getBoundingClientRect();
    return {
      x: Math.min(Math.max((event.clientX - rect.left) / rect.width, 0), 1),
      y: Math.min(Math.max((event.clientY - rect.top) / rect.height, 0), 1),
      px: event.clientX, py: event.clientY,
    };
  }

  function onPointerDown(event) {
    if (!current || !current.session.can_search || event.button !== 0 || busy) return;
    drawing = { start: stagePoint(event), node: null };
  }

  function onPointerMove(event) {
    if (!drawing) return;
    const point = stagePoint(event);
    if (!drawing.node) {
      if (Math.hypot(point.px - drawing.start.px, point.py - drawing.start.py) < 6) return;
      drawing.node = h("div", { class: "drawing" });
      $("overlay").append(drawing.node);
      try {
        $("stage").setPointerCapture(event.pointerId); // keep the drag when it leaves the photo
      } catch (error) {
        // synthetic pointers (automation) cannot be captured; the drag still works
      }
    }
    drawing.end = point;
    const box = region(drawing.start, point);
    Object.assign(drawing.node.style, boxStyle({ left: box[0], top: box[1], width: box[2] - box[0], height: box[3] - box[1] }));
  }

  function onPointerUp() {
    if (!drawing) return;
    const { node, start, end } = drawing;
    drawing = null;
    if (!node || !end) return;
    const box = region(start, end);
    searchRegion(...box).finally(() => node.remove());
  }

  function cancelDrawing() {
    if (drawing && drawing.node) drawing.node.remove();
    drawing = null;
  }

  const region = (a, b) => [Math.min(a.x, b.x), Math.min(a.y, b.y), Math.max(a.x, b.x), Math.max(a.y, b.y)];

  function searchRegion(left, top, right, bottom) {
    return act("search_region", left, top, right, bottom);
  }

  // --- wiring -------------------------------------------------------------------------
  document.addEventListener("keydown", onKey);
  window.addEventListener("resize", fitPhoto);
  $("stage").addEventListener("pointerdown", onPointerDown);
  $("stage").addEventListener("pointermove", onPointerMove);
  $("stage").addEventListener("pointerup", onPointerUp);
  $("stage").addEventListener("pointercancel", cancelDrawing);
  $("look-prev").addEventListener("click", () => act("select_look", current.session.index - 1));
  $("look-next").addEventListener("click", () => act("select_look", current.session.index + 1));
  document.querySelectorAll(".filter button").forEach((b) => b.addEventListener("click", () =>
    (b.dataset.age ? act("set_age_group", b.dataset.age) : act("set_gender", b.dataset.gender))));

  // --- pairing -------------------------------------------------------------------------
  function askPairing(question) {
    const modal = $("pairing");
    if (!question) {
      modal.hidden = true;
      return;
    }
    $("pairing-origin").textContent = question.origin;
    $("pairing-replaces").hidden = !question.alreadyPaired;
    $("pairing-code").value = ""; // the user types the code the browser shows; we never show it
    modal.hidden = false;
    $("pairing-code").focus();
  }

  async function answerPairing(approved) {
    $("pairing").hidden = true;
    await (await api()).answer_pairing(approved ? $("pairing-code").value : null);
  }

  $("pairing-approve").addEventListener("click", () => answerPairing(true));
  $("pairing-deny").addEventListener("click", () => answerPairing(false));
  $("pairing").addEventListener("keydown", (event) => {
    if (event.key === "Escape") answerPairing(false);
    if (event.key === "Enter" && event.target.id === "pairing-code") answerPairing(true);
    event.stopPropagation(); // the results' arrow keys stay out of the dialog
  });

  window.panel = {
    init(config) {
      messages = config.messages || {};
      document.documentElement.lang = config.lang || "en";
      translateStatic();
      applyBrand(config.brand);
      render(config.payload);
      askPairing(config.pairing || null);
    },
    render,
    askPairing,
    searchRegion, // tests and automation: the same path as a box drawn with the mouse
    state: () => ({ selected, busy, garments: garmentIds() }),
  };
})();
