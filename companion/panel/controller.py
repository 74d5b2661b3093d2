"""What the panel remembers and re-runs, without any window: the looks shown so far and the
user's choices (gender, drawn boxes, more results), turned into payloads for the page.

Thread-safe: looks arrive from the server's threads and actions from pywebview's js_api threads.
Photos stay in memory only and are dropped with the oldest look.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field, replace

from companion.errors import ErrorCode, LookError
from companion.panel.images import photo_data_url
from companion.panel.layout import (
    CHOSEN_GENDERS,
    ImageSource,
    build_layout,
    error_layout,
    remote_image,
)
from companion.pipeline.look import LookRequest

Search = Callable[[bytes, LookRequest], dict]  # image bytes + request → look_to_json object

GENDERS = ("auto", "female", "male", "all")
AGE_GROUPS = ("adult", "kids", "all")  # whose products: the look's own choice until switched
HISTORY = 10  # looks kept (with their photos, in memory) for the ‹ › switcher
TOP_K = 8
MAX_TOP_K = 48
MIN_REGION_PX = 8


@dataclass
class Session:
    """One look as shown: the core's JSON plus what the user changed on it."""

    look: dict
    image: bytes | None
    photo: str = ""  # data URL, made once
    gender: str = "auto"
    age_group: str = "adult"
    top_k: dict[str, int] = field(default_factory=dict)  # per category, after "more results"
    regions: list[tuple[float, float, float, float]] = field(default_factory=list)
    drawn: list[dict] = field(default_factory=list)  # items found for ``regions``
    # The shopper's answer (female/male) for a person whose gender the look left "unknown":
    # that person's rows are searched for it whenever the look runs "as detected".
    person_genders: dict[int, str] = field(default_factory=dict)


class PanelController:
    """Holds the looks and answers the page's actions with a fresh payload to render."""

    def __init__(self, search: Search | None = None, threshold: float | None = None,
                 image_source: ImageSource = remote_image, top_k: int = TOP_K,
                 age_group: str = "adult") -> None:
        self.search = search
        self.age_group = age_group  # each look's switch starts here (serve --age-group)
        self.threshold = threshold
        self.image_source = image_source
        self.top_k = top_k
        self._sessions: list[Session] = []
        self._current = -1
        self._error: dict | None = None
        self._pairing_step: dict | None = None  # first run: no browser paired yet
        self._lock = threading.RLock()
        self._search_lock = threading.Lock()  # one inference at a time from the panel

    # --- looks arriving -------------------------------------------------------------------
    def add_look(self, look: dict, image: bytes | None) -> dict:
        session = Session(look=look, image=image, photo=photo_data_url(image),
                          age_group=self.age_group)
        with self._lock:
            self._sessions.append(session)
            del self._sessions[:-HISTORY]
            self._current = len(self._sessions) - 1
            self._error = None
            return self.payload()

    def set_pairing_step(self, name: str, port: int) -> dict:
        """First run: until a browser pairs (or a look arrives), the window says how to pair."""
        with self._lock:
            self._pairing_step = {"state": "pairing", "name": name, "port": port}
            return self.payload()

    def clear_pairing_step(self) -> dict:
        with self._lock:
            self._pairing_step = None
            return self.payload()

    def set_error(self, code: str, message: str) -> dict:
        """An error that stands instead of any look (catalog or model missing at start)."""
        with self._lock:
            self._error = error_layout(code, message)
            return self.payload()

    # --- the page's actions ---------------------------------------------------------------
    def select(self, index: int) -> dict:
        with self._lock:
            if 0 <= index < len(self._sessions):
                self._current = index
            return self.payload()

    def set_gender(self, gender: str) -> dict:
        """Re-run the whole look (drawn boxes too) for female, male, all or the detected gender."""
        if gender not in GENDERS:
            raise LookError(ErrorCode.BAD_ARGUMENT, f"Unknown gender {gender!r}.")
        return self._rerun(gender, self._session().age_group)

    def set_age_group(self, age_group: str) -> dict:
        """Re-run the whole look for adults' products, kids' or everyone's."""
        if age_group not in AGE_GROUPS:
            raise LookError(ErrorCode.BAD_ARGUMENT, f"Unknown age group {age_group!r}.")
        return self._rerun(self._session().gender, age_group)

    def set_person_gender(self, person: int, gender: str) -> dict:
        """The shopper's answer for a person of unknown gender: re-run the look for it and show
        that person's rows from the re-run; remembered for this look."""
        if gender not in CHOSEN_GENDERS:
            raise LookError(ErrorCode.BAD_ARGUMENT, f"Unknown gender {gender!r}.")
        session = self._session()
        if not 0 <= person < len(session.look.get("people", [])):
            raise LookError(ErrorCode.BAD_ARGUMENT, f"No person {person} in this look.")
        fresh = self._run(session, self._request(session, gender=gender))
        with self._lock:
            session.person_genders[person] = gender
            session.look = _with_items_of(session.look, fresh, {person})
            return self.payload()

    def _rerun(self, gender: str, age_group: str) -> dict:
        session = self._session()
        look = self._run_look(session, self._request(session, gender=gender, age_group=age_group))
        drawn = [self._run_region(session, r, gender, age_group) for r in session.regions]
        with self._lock:
            session.gender, session.age_group = gender, age_group
            session.look, session.drawn = look, drawn
            session.top_k.clear()
            return self.payload()

    def more_results(self, category: str) -> dict:
        """Re-run one category with twice as many products."""
        session = self._session()
        top_k = min(session.top_k.get(category, self.top_k) * 2, MAX_TOP_K)
        request = self._request(session, gender=session.gender, top_k=top_k,
                                categories=(category,))
        fresh = [i for i in self._run_look(session, request).get("items", [])
                 if i.get("category") == category]
        with self._lock:
            items = session.look.get("items", [])
            kept = [i for i in items if i.get("category") != category]
            position = next((n for n, i in enumerate(items) if i.get("category") == category),
                            len(kept))
            session.look = {**session.look, "items": kept[:position] + fresh + kept[position:]}
            session.top_k[category] = top_k
            return self.payload()

    def search_region(self, left: float, top: float, right: float, bottom: float) -> dict:
        """Search the box the user drew (fractions of the photo) and add it as a garment."""
        session = self._session()
        width, height = session.look["width"], session.look["height"]
        box = (
            min(left, right) * width, min(top, bottom) * height,
            max(left, right) * width, max(top, bottom) * height,
        )
        box = tuple(round(min(max(v, 0.0), limit), 1)
                    for v, limit in zip(box, (width, height, width, height), strict=True))
        if box[2] - box[0] < MIN_REGION_PX or box[3] - box[1] < MIN_REGION_PX:
            raise LookError(ErrorCode.REGION_TOO_SMALL, "Draw a larger box around the garment.")
        item = self._run_region(session, box, session.gender)
        with self._lock:
            session.regions.append(box)
            session.drawn.append(item)
            number = len(session.look.get("items", [])) + len(session.drawn) - 1
            return self.payload(select=f"g{number}")

    def remove_region(self, number: int) -> dict:
        with self._lock:
            session = self._session()
            if 0 <= number < len(session.regions):
                del session.regions[number], session.drawn[number]
            return self.payload()

    def product_link(self, product_id: str, shop: str = "") -> str:
        """The link of a product shown in the current look (the page never supplies a URL);
        ``shop`` tells apart equal ids of several shops."""
        with self._lock:
            session = self._session()
            for item in [*session.look.get("items", []), *session.drawn]:
                for match in item.get("matches", []):
                    if match.get("id") == product_id and shop in ("", match.get("shop", "")):
                        link = match.get("link") or ""
                        return link if link.startswith(("https://", "http://")) else ""
        return ""

    # --- rendering ------------------------------------------------------------------------
    def payload(self, select: str | None = None) -> dict:
        """Everything the page needs to draw the current state."""
        with self._lock:
            if self._error is not None or not self._sessions:
                layout = self._error or self._pairing_step or {"state": "waiting"}
                return {"layout": layout, "photo": "",
                        "session": {"index": 0, "count": len(self._sessions)}}
            session = self._sessions[self._current]
            people = [{**person, "chosen_gender": session.person_genders.get(n, "")}
                      for n, person in enumerate(session.look.get("people", []))]
            look = {**session.look, "people": people,
                    "items": [*session.look.get("items", []), *session.drawn]}
            can_search = self.search is not None and session.image is not None
            layout = build_layout(look, self.threshold, self.image_source,
                                  ask_gender=can_search and session.gender == "auto")
            if select is not None and layout.get("state") == "look":
                layout["selected"] = select
            return {
                "layout": layout,
                "photo": session.photo,
                "session": {
                    "index": self._current, "count": len(self._sessions),
                    "gender": session.gender, "age_group": session.age_group,
                    "can_search": can_search and layout.get("state") == "look",
                    "source": session.look.get("image", ""),
                },
            }

    # --- helpers --------------------------------------------------------------------------
    def _session(self) -> Session:
        with self._lock:
            if not self._sessions:
                raise LookError(ErrorCode.NO_LOOK, "No look is shown yet.")
            return self._sessions[self._current]

    def _request(self, session: Session, gender: str, top_k: int | None = None,
                 categories: tuple[str, ...] | None = None,
                 region: tuple[float, float, float, float] | None = None,
                 age_group: str | None = None) -> LookRequest:
        return LookRequest(top_k=top_k or self.top_k, region=region,
                           gender=None if gender == "auto" else gender, categories=categories,
                           age_group=age_group or session.age_group)

    def _run(self, session: Session, request: LookRequest) -> dict:
        if self.search is None or session.image is None:
            raise LookError(ErrorCode.SEARCH_UNAVAILABLE,
                            "This look cannot be searched again here.")
        with self._search_lock:
            look = self.search(session.image, request)
        return {**look, "image": session.look.get("image", "")}

    def _run_look(self, session: Session, request: LookRequest) -> dict:
        """``request`` run on the look's photo; run "as detected", the people the shopper
        answered for get their rows from a run for that answer."""
        look = self._run(session, request)
        if request.gender is not None:
            return look
        for gender in sorted(set(session.person_genders.values())):
            chosen = {p for p, g in session.person_genders.items() if g == gender}
            look = _with_items_of(look, self._run(session, replace(request, gender=gender)), chosen)
        return look

    def _run_region(self, session: Session, box: tuple[float, float, float, float],
                    gender: str, age_group: str | None = None) -> dict:
        look = self._run(session, self._request(session, gender, region=box, age_group=age_group))
        items = look.get("items", [])
        if not items:
            raise LookError(ErrorCode.NO_MATCHES, "Nothing in the catalog looks like that area.")
        return {**items[0], "drawn": True}


def _with_items_of(look: dict, fresh: dict, people: set[int]) -> dict:
    """``look`` with the items of ``people`` taken from ``fresh`` (a re-run of the same photo:
    the same people, in the same order)."""
    kept = [i for i in look.get("items", []) if i.get("person") not in people]
    taken = [i for i in fresh.get("items", []) if i.get("person") in people]
    return {**look, "items": kept + taken}
