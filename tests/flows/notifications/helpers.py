"""Calls the flow tests share."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import TypeVar

import grpc
from crm.notifications.v1 import notifications_pb2 as pb
from crm.notifications.v1 import notifications_pb2_grpc as pb_grpc

from crm_platform.testing import auth

T = TypeVar("T")


async def eventually(call: Callable[[], Awaitable[T]], done: Callable[[T], bool], timeout: float = 30.0) -> T:
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        result = await call()
        if done(result):
            return result
        if asyncio.get_running_loop().time() > deadline:
            raise TimeoutError(f"not done within {timeout}s: {result}")
        await asyncio.sleep(0.2)


async def until_known(
    stub: pb_grpc.NotificationsServiceStub, partner_id: str, language: int = pb.LANGUAGE_UK, timeout: float = 60.0
) -> None:
    """Waits until the partner's event reached notifications (and sets their language)."""
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        try:
            await stub.SetPartnerLanguage(
                pb.SetPartnerLanguageRequest(partner_id=partner_id, language=language), metadata=auth("manager")
            )
            return
        except grpc.aio.AioRpcError as exc:
            if exc.code() != grpc.StatusCode.NOT_FOUND or asyncio.get_running_loop().time() > deadline:
                raise
            await asyncio.sleep(0.2)


async def campaign_finished(
    stub: pb_grpc.NotificationsServiceStub, campaign_id: str, timeout: float = 60.0
) -> pb.Campaign:
    return await eventually(
        lambda: stub.GetCampaign(pb.GetCampaignRequest(id=campaign_id), metadata=auth("manager")),
        lambda c: c.status == pb.CAMPAIGN_STATUS_COMPLETED,
        timeout,
    )
