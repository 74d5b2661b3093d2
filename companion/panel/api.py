"""The page's only way into Python (pywebview ``js_api``): every public method here is callable
from JavaScript as ``pywebview.api.<name>(...)`` and returns a JSON-able answer.

Each call runs in its own pywebview thread. Errors come back as ``{"error": {code, message}}``
rather than exceptions, so the page can show them; anything unexpected is logged, not shown raw.
"""

from __future__ import annotations

import logging
import webbrowser
from collections.abc import Callable

from companion.errors import ErrorCode, LookError
from companion.panel.controller import PanelController
from companion.panel.pairing import PairingPrompt

log = logging.getLogger(__name__)


class PanelApi:
    """Public methods only for the page; state lives in ``_controller`` (hidden from JS)."""

    def __init__(self, controller: PanelController,
                 open_url: Callable[[str], object] = webbrowser.open,
                 pairing: PairingPrompt | None = None) -> None:
        self._controller = controller
        self._open_url = open_url
        self._pairing = pairing or PairingPrompt()

    def current(self) -> dict:
        return self._controller.payload()

    def select_look(self, index: int) -> dict:
        return self._call(lambda: self._controller.select(int(index)))

    def set_gender(self, gender: str) -> dict:
        return self._call(lambda: self._controller.set_gender(str(gender)))

    def set_person_gender(self, person: int, gender: str) -> dict:
        """The shopper's Women / Men answer for a person whose gender the look left unknown."""
        return self._call(lambda: self._controller.set_person_gender(int(person), str(gender)))

    def set_age_group(self, age_group: str) -> dict:
        return self._call(lambda: self._controller.set_age_group(str(age_group)))

    def more_results(self, category: str) -> dict:
        return self._call(lambda: self._controller.more_results(str(category)))

    def search_region(self, left: float, top: float, right: float, bottom: float) -> dict:
        return self._call(lambda: self._controller.search_region(
            float(left), float(top), float(right), float(bottom)))

    def remove_region(self, number: int) -> dict:
        return self._call(lambda: self._controller.remove_region(int(number)))

    def open_product(self, product_id: str, shop: str = "") -> dict:
        """Open a shown product's own link in the default browser (never a URL from the page)."""
        link = self._controller.product_link(str(product_id), str(shop or ""))
        if not link:
            problem = LookError(ErrorCode.NO_LINK, "This product has no web link.")
            return {"error": problem.to_dict()}
        self._open_url(link)
        return {"opened": link}

    def pending_pairing(self) -> dict | None:
        return self._pairing.pending()

    def answer_pairing(self, code: str | None) -> dict:
        """The user's answer to "pair this browser?": the code they typed, or None (refused)."""
        return {"answered": self._pairing.answer(code if isinstance(code, str) else None)}

    def _call(self, action: Callable[[], dict]) -> dict:
        try:
            return action()
        except LookError as exc:
            return {"error": exc.to_dict()}
        except Exception:  # the page gets a code, the log gets the trace
            log.exception("panel action failed")
            problem = LookError(ErrorCode.INTERNAL, "Something went wrong; see the log.")
            return {"error": problem.to_dict()}
