"""Multi-workspace Slack: "Add to Slack" through Bolt's OAuth flow, installations kept in the vault.

Bolt drives the flow (`/slack/install` → slack.com → `/slack/oauth_redirect` →
`oauth.v2.access`) and, per event, looks the workspace's bot token up through the
installation store. These two classes are Bolt's async store interfaces over
`bot.installations.InstallationVault`, which encrypts what it keeps. Uninstalling the app
(`app_uninstalled`) or revoking its tokens (`tokens_revoked`) deletes the workspace's row.
"""

from __future__ import annotations

import asyncio
import logging
from typing import TYPE_CHECKING, Any

from slack_bolt.oauth.async_oauth_flow import AsyncOAuthFlow
from slack_bolt.oauth.async_oauth_settings import AsyncOAuthSettings
from slack_sdk.oauth.installation_store import Bot, Installation
from slack_sdk.oauth.installation_store.async_installation_store import (
    AsyncInstallationStore,
)
from slack_sdk.oauth.state_store.async_state_store import AsyncOAuthStateStore
from slack_sdk.web.async_client import AsyncWebClient

from bot.settings import Settings

if TYPE_CHECKING:
    from bot.installations import InstallationVault

__all__ = ["VaultInstallationStore", "VaultStateStore", "build_oauth_flow"]

logger = logging.getLogger(__name__)

BOT_SCOPES = ("app_mentions:read", "channels:history", "chat:write", "commands", "files:read", "groups:history",
              "im:history", "im:read", "im:write", "mpim:history", "assistant:write")


def _record(installation: Installation) -> dict[str, Any]:
    data = {k: v for k, v in vars(installation).items() if not k.startswith("_") and k != "custom_values"}
    data["custom_values"] = installation.custom_values
    return data


class VaultInstallationStore(AsyncInstallationStore):
    """Bolt's installation store: the latest installation per workspace, encrypted at rest."""

    def __init__(self, vault: InstallationVault) -> None:
        self._vault = vault

    @property
    def logger(self) -> logging.Logger:
        return logger

    async def async_save(self, installation: Installation) -> None:
        team = None if installation.is_enterprise_install else installation.team_id
        await asyncio.to_thread(self._vault.save, installation.enterprise_id, team, _record(installation))

    async def async_save_bot(self, bot: Bot) -> None:
        """Bolt saves the bot through `async_save`; a bot alone is not kept separately."""

    async def async_find_installation(self, *, enterprise_id: str | None, team_id: str | None,
                                      user_id: str | None = None, is_enterprise_install: bool | None = False,
                                      ) -> Installation | None:
        team = None if is_enterprise_install else team_id
        data = await asyncio.to_thread(self._vault.find, enterprise_id, team)
        if data is None:
            return None
        installation = Installation(**data)
        if user_id is not None and installation.user_id != user_id:
            return None
        return installation

    async def async_find_bot(self, *, enterprise_id: str | None, team_id: str | None,
                             is_enterprise_install: bool | None = False) -> Bot | None:
        installation = await self.async_find_installation(enterprise_id=enterprise_id, team_id=team_id,
                                                          is_enterprise_install=is_enterprise_install)
        return None if installation is None or installation.bot_token is None else installation.to_bot()

    async def async_delete_bot(self, *, enterprise_id: str | None, team_id: str | None) -> None:
        await asyncio.to_thread(self._vault.delete, enterprise_id, team_id)

    async def async_delete_installation(self, *, enterprise_id: str | None, team_id: str | None,
                                        user_id: str | None = None) -> None:
        if user_id is None:  # one user's own token revoked leaves the workspace's bot installed
            await asyncio.to_thread(self._vault.delete, enterprise_id, team_id)

    async def async_delete_all(self, *, enterprise_id: str | None, team_id: str | None) -> None:
        await asyncio.to_thread(self._vault.delete, enterprise_id, team_id)


class VaultStateStore(AsyncOAuthStateStore):
    """Bolt's OAuth state store: single-use states shared by every worker."""

    def __init__(self, vault: InstallationVault, *, lifetime: float = 600) -> None:
        self._vault = vault
        self._lifetime = lifetime

    @property
    def logger(self) -> logging.Logger:
        return logger

    async def async_issue(self, *args: Any, **kwargs: Any) -> str:
        return await asyncio.to_thread(self._vault.issue_state, self._lifetime)

    async def async_consume(self, state: str) -> bool:
        return await asyncio.to_thread(self._vault.consume_state, state)


def build_oauth_flow(settings: Settings, vault: InstallationVault, client: AsyncWebClient) -> AsyncOAuthFlow:
    """Bolt's OAuth flow over the vault; `client` (pointed at Slack or the tests' fake) makes oauth.v2.access."""
    assert settings.slack_client_id is not None and settings.slack_client_secret is not None
    oauth = AsyncOAuthSettings(
        client_id=settings.slack_client_id,
        client_secret=settings.slack_client_secret.get_secret_value(),
        scopes=list(settings.slack_scopes or BOT_SCOPES),
        installation_store=VaultInstallationStore(vault),
        state_store=VaultStateStore(vault),
        authorization_url=settings.slack_authorize_url,
        install_page_rendering_enabled=False,
        install_path="/slack/install",
        redirect_uri_path="/slack/oauth_redirect",
    )
    return AsyncOAuthFlow(client=client, settings=oauth)
