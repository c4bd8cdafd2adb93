"""`laurel doctor`'s Teams check: can laurel get a Bot Framework token with its credentials?

Every reply laurel sends to Teams needs such a token, so a wrong app id, secret or tenant
shows up here instead of as silence after the first message.
"""

from __future__ import annotations

import asyncio

from botframework.connector.auth import MicrosoftAppCredentials

LOGIN_TIMEOUT = 15.0  # seconds


async def check_credentials(app_id: str, password: str, tenant_id: str | None) -> tuple[bool, str]:
    credentials = MicrosoftAppCredentials(app_id, password, channel_auth_tenant=tenant_id)
    try:
        # MSAL is synchronous: ask from a thread so a slow login service cannot stall.
        await asyncio.wait_for(asyncio.to_thread(credentials.get_access_token), LOGIN_TIMEOUT)
    except Exception as error:  # MSAL and the network fail in many shapes; all mean "no token"
        reason = str(error).splitlines()[0] if str(error) else type(error).__name__
        return False, f"no Bot Framework token for app {app_id}: {reason}"
    return True, f"app {app_id} gets Bot Framework tokens"
