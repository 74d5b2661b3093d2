"""Typed application state shared by the middlewares and handlers."""

from __future__ import annotations

import asyncio

from aiohttp import web

from companion.server.config import ServerConfig
from companion.server.engine import LookEngine
from companion.server.pairing import PairingDesk, PairingStore

CONFIG = web.AppKey("config", ServerConfig)
PAIRINGS = web.AppKey("pairings", PairingStore)
DESK = web.AppKey("pairing_desk", PairingDesk)
ENGINE = web.AppKey("engine", LookEngine)
WARM_UP = web.AppKey("warm_up", asyncio.Task)
