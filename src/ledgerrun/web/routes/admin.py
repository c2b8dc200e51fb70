"""People: the administration page (admins only) to add users, change their role, disable or
enable them and set a new password; and each person's own page to change their password.

The rules are ``ledgerrun users``'s (:func:`~ledgerrun.web.security.name_problem`,
:func:`~ledgerrun.web.security.password_problem`; Argon2 hashes only). Disabling a user or
giving them a new password ends every session of theirs at once (the store does it in the same
step). An administrator cannot disable or demote themselves, so the application always keeps
one. Every change, and every refusal, is in the audit trail.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from starlette.concurrency import run_in_threadpool
from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from ledgerrun.errors import JournalError
from ledgerrun.store.web_model import ROLES, User
from ledgerrun.web import security, service
from ledgerrun.web.routes.common import ADMIN, guarded, refuse, text_field
from ledgerrun.web.routes.signin import start_session

if TYPE_CHECKING:
    from ledgerrun.web.app import App

ROLE_WORDS = {
    "preparer": "Preparer: uploads ledgers",
    "approver": "Approver: approves, rejects, sends back, reverses",
    "admin": "Admin: all of it, and the users",
}


@guarded(ADMIN)
async def users_page(self: App, request: Request) -> Response:
    return _page(self, request)


def _page(self: App, request: Request, status: int = 200, error: str = "") -> Response:
    sessions: dict[str, int] = {}
    for s in self.store.open_sessions(service.now()):
        sessions[s.user] = sessions.get(s.user, 0) + 1
    return self.render(
        request, "users.html", status, users=self.store.users(), sessions=sessions,
        roles=ROLE_WORDS, error=error,
    )  # fmt: skip


def _refused(self: App, request: Request, status: int, text: str, why: str) -> Response:
    refuse(self, request, status, "Not done", text, why=why)  # recorded in the audit trail
    return _page(self, request, status, text)


@guarded(ADMIN)
async def add_user(self: App, request: Request) -> Response:
    admin: User = request.state.user
    form: FormData = request.state.form
    name = text_field(form, "name", 200).strip()
    role = text_field(form, "role", 20)
    password = text_field(form, "password", 1001)
    sso_only = self.config.auth == "proxy" and not password
    problem = security.name_problem(name) or (
        "" if role in ROLES else "choose a role"
    ) or ("" if sso_only else security.password_problem(password))  # fmt: skip
    if problem:
        return _refused(self, request, 400, problem[0].upper() + problem[1:] + ".", problem)
    password_hash = "" if sso_only else await run_in_threadpool(security.hash_password, password)
    try:
        self.store.add_user(User(name, role, password_hash, False, service.now()))
    except JournalError as exc:
        return _refused(self, request, 409, str(exc)[0].upper() + str(exc)[1:] + ".", str(exc))
    service.audit(self.store, admin.name, self.address(request), "user_added", name=name,
                  role=role)  # fmt: skip
    self.flash(request, f"Added {name} ({role}).")
    return RedirectResponse("/admin/users", 303)


def _target(self: App, request: Request) -> User | None:
    name = str(request.path_params.get("name", ""))
    return self.store.user(name) if security.USER_NAME_RE.fullmatch(name) else None


@guarded(ADMIN)
async def change_user(self: App, request: Request) -> Response:
    """One change to one user: ``disable``, ``enable``, ``password`` or ``role``."""
    admin: User = request.state.user
    form: FormData = request.state.form
    target = _target(self, request)
    change = str(request.path_params.get("change", ""))
    if target is None:
        return _refused(self, request, 404, "There is no such user.", "no such user")
    if target.name == admin.name and change in ("disable", "role"):
        return _refused(
            self, request, 409,
            "You cannot disable or change the role of your own user: ask another administrator.",
            "an administrator may not disable or demote themselves",
        )  # fmt: skip
    detail: dict[str, str] = {}
    if change == "disable":
        self.store.update_user(target.name, disabled=True)  # ends their sessions too
        done = f"Disabled {target.name}: signed out everywhere."
    elif change == "enable":
        self.store.update_user(target.name, disabled=False)
        done = f"Enabled {target.name}."
    elif change == "password":
        password = text_field(form, "password", 1001)
        problem = security.password_problem(password)
        if problem:
            return _refused(self, request, 400, problem[0].upper() + problem[1:] + ".", problem)
        new_hash = await run_in_threadpool(security.hash_password, password)
        self.store.update_user(target.name, password_hash=new_hash)  # ends their sessions
        done = f"Set a new password for {target.name}: signed out everywhere."
    elif change == "role":
        role = text_field(form, "role", 20)
        if role not in ROLES:
            return _refused(self, request, 400, "Choose a role.", "no such role")
        self.store.update_user(target.name, role=role)
        done, detail = f"{target.name} is now {role}.", {"role": role, "was": target.role}
    else:
        return _refused(self, request, 404, "There is no such change.", "no such change")
    service.audit(
        self.store, admin.name, self.address(request), f"user_{change}d"
        if change in ("disable", "enable") else f"user_{change}", name=target.name,
        role=detail.get("role", ""), was=detail.get("was", ""),
    )  # fmt: skip
    self.flash(request, done)
    return RedirectResponse("/admin/users", 303)


# --- one's own password --------------------------------------------------------------------------


@guarded()
async def account_page(self: App, request: Request) -> Response:
    return self.render(request, "account.html")


@guarded()
async def change_own_password(self: App, request: Request) -> Response:
    user: User = request.state.user
    form: FormData = request.state.form
    if self.config.auth == "proxy":
        return refuse(
            self, request, 409, "Not here",
            "Passwords are the single sign-on's, not this server's.",
            why="passwords are the single sign-on's",
        )  # fmt: skip
    current = text_field(form, "current", 1001)
    new, again = text_field(form, "new", 1001), text_field(form, "again", 1001)
    good = await run_in_threadpool(security.check_password, user.password_hash, current)
    problem = (
        ("" if good else "the current password is not right")
        or security.password_problem(new)
        or ("" if new == again else "the two new passwords differ")
    )
    if problem:
        service.audit(self.store, user.name, self.address(request), "refused",
                      attempted="change_password", status=400, why=problem)  # fmt: skip
        text = problem[0].upper() + problem[1:] + "."
        return self.render(request, "account.html", 400, error=text)
    new_hash = await run_in_threadpool(security.hash_password, new)
    self.store.update_user(user.name, password_hash=new_hash)  # ends every session of theirs
    start_session(self, request, user.name, self.address(request))  # ...but this one goes on
    service.audit(self.store, user.name, self.address(request), "user_password", name=user.name)
    self.flash(request, "Your password is changed; any other session of yours has ended.")
    return RedirectResponse("/account", 303)
