"""The emulator's controls for applications, as a pod administrator and the Symphony client
would act: register an app, let it act for a user or not, hand a user's JWT to an extension
app's frontend. `Emulator` inherits them; they work on the state it builds."""

from __future__ import annotations

from collections.abc import Callable

from symbot.emulator._apps import AppRegistry, EmulatedApp, PodSigner
from symbot.emulator._directory import UserDirectory

__all__ = ["AppControls"]


class AppControls:
    """Application controls of `Emulator` (which sets these attributes)."""

    apps: AppRegistry
    directory: UserDirectory
    pod_signer: PodSigner
    clock: Callable[[], float]

    def add_app(
        self,
        app_id: str,
        *,
        name: str | None = None,
        public_key_pem: bytes | None = None,
        key_size: int = 2048,
        acts_for_all_users: bool = True,
    ) -> EmulatedApp:
        """Register an app with an RSA public key (generated with its private key when not
        given). It may act on behalf of every user (`acts_for_all_users`) unless
        `set_app_entitlement` says otherwise for one."""
        if app_id in self.directory:
            raise ValueError(f"{app_id!r} is a user of the emulator; give the app another id")
        return self.apps.add(
            app_id,
            name=name,
            public_key_pem=public_key_pem,
            key_size=key_size,
            acts_for_all_users=acts_for_all_users,
        )

    def set_app_entitlement(self, app_id: str, username: str, entitled: bool) -> None:
        """Let `app_id` act on behalf of `username` (the user installed it) or not (403)."""
        self.directory.get(username)  # KeyError naming an unknown user
        self.apps.set_entitlement(app_id, username, entitled)

    def extension_user_jwt(self, username: str, app_id: str, *, lifetime: float = 300.0) -> str:
        """The JWT the Symphony client hands to `app_id`'s frontend for `username`: RS512,
        signed by the pod certificate's key, `aud` = the app id, the user's profile in
        `user`; `lifetime` seconds on the emulator's clock (negative: already expired)."""
        self.apps.get(app_id)
        return self.pod_signer.user_jwt(
            self.directory.get(username), app_id, issued_at=self.clock(), lifetime=lifetime
        )

    def symphony_token(self, app_id: str, app_token: str) -> str:
        """The Symphony token the pod paired with `app_token` at the extension app's
        authentication: what the Symphony client passes to the app's frontend."""
        return self.apps.symphony_token(app_id, app_token)
