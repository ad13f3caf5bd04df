"""Operator commands for dashboard users: create, list, reset a password or a second factor;
the demo owner."""

from __future__ import annotations

import click
from flask import Flask
from flask.cli import AppGroup
from sqlalchemy import select
from sqlalchemy.orm import Session

from ..core import db
from ..core.models import Account, Membership, User
from ..owners import people, sessions, two_factor
from ..owners.people import PeopleError, Role

users_cli = AppGroup("users", help="Dashboard users: their accounts, roles and passwords.")

DEMO_OWNER = "demo-owner@example.com"
RESET_HINT = ".venv/bin/flask --app widget_server users reset-password --email {email}"


def _password(prompt: bool, email: str) -> str:
    if not prompt:
        return people.generated_password()
    while True:
        password = click.prompt("Password", hide_input=True, confirmation_prompt=True)
        problem = people.password_problem(password, email)
        if problem is None:
            return str(password)
        click.echo(problem, err=True)


def _usage(exc: PeopleError) -> click.UsageError:
    return click.UsageError(f"{exc.field}: {exc.message}")


@users_cli.command("create")
@click.option("--account", "account_id", required=True, help="Account id.")
@click.option("--email", required=True)
@click.option(
    "--role",
    type=click.Choice([role.value for role in Role]),
    default=Role.OWNER.value,
    show_default=True,
)
@click.option("--prompt-password", is_flag=True, help="Type the password rather than generate one.")
def users_create(account_id: str, email: str, role: str, prompt_password: bool) -> None:
    """Add a user to an account with a role (an existing user gets the role too)."""
    store = db.session()
    if store.get(Account, account_id) is None:
        raise click.UsageError(f"no account {account_id}")
    user = people.find_user(store, email)
    password = None
    if user is None:
        password = _password(prompt_password, email)
        try:
            user = people.create_user(store, email, password)
        except PeopleError as exc:
            raise _usage(exc) from None
    people.add_member(store, user, account_id, Role(role))
    store.commit()
    click.echo(f"{user.email} is {role} of account {account_id}")
    if password is None:
        click.echo("an existing user: their password is unchanged")
    elif not prompt_password:
        click.echo(f"password (shown once): {password}")


@users_cli.command("list")
@click.option("--account", "account_id", help="Only this account's members.")
def users_list(account_id: str | None) -> None:
    """List users with their accounts and roles."""
    query = (
        select(User.email, Membership.account_id, Membership.role)
        .join(Membership, Membership.user_id == User.id)
        .order_by(User.email, Membership.account_id)
    )
    if account_id:
        query = query.where(Membership.account_id == account_id)
    for email, account, role in db.session().execute(query):
        click.echo(f"{email}  {account}  {role}")


@users_cli.command("reset-password")
@click.option("--email", required=True)
@click.option("--prompt-password", is_flag=True, help="Type the password rather than generate one.")
def users_reset_password(email: str, prompt_password: bool) -> None:
    """Give a user a new password and end all their sessions."""
    store = db.session()
    user = people.find_user(store, email)
    if user is None:
        raise click.UsageError(f"no user {email}")
    password = reset(store, user, prompt_password)
    store.commit()
    click.echo(f"{user.email}: new password set, every session ended")
    if not prompt_password:
        click.echo(f"password (shown once): {password}")


@users_cli.command("reset-second-factor")
@click.option("--email", required=True)
def users_reset_second_factor(email: str) -> None:
    """Turn a user's second factor off (a lost phone) and end all their sessions."""
    store = db.session()
    user = people.find_user(store, email)
    if user is None:
        raise click.UsageError(f"no user {email}")
    was_on = two_factor.is_on(user)
    two_factor.turn_off(store, user)
    sessions.end_sessions(store, user.id)
    store.commit()
    if was_on:
        click.echo(f"{user.email}: second factor and recovery codes removed, every session ended")
    else:
        click.echo(f"{user.email}: had no second factor on; every session ended")
    click.echo("they sign in with their password alone, and may set a second factor up again")


def reset(store: Session, user: User, prompt: bool = False) -> str:
    password = _password(prompt, user.email)
    try:
        people.set_password(user, password)
    except PeopleError as exc:
        raise _usage(exc) from None
    sessions.end_sessions(store, user.id)
    return password


def demo_owner(store: Session, account: Account, origin: str) -> list[str]:
    """Make sure the demo account has its owner; return the lines that tell how to sign in.

    The password is printed only when it is made: the hash cannot give it back.
    """
    user = people.find_user(store, DEMO_OWNER)
    password = None
    if user is None:
        password = people.generated_password()
        user = people.create_user(store, DEMO_OWNER, password)
    people.add_member(store, user, account.id, Role.OWNER)
    lines = [f"dashboard: {origin.rstrip('/')}/dashboard/", f"  email:    {user.email}"]
    if password:
        lines.append(f"  password: {password}  (shown this once)")
    else:
        lines.append(
            "  password: as printed when it was made; for a new one: "
            + RESET_HINT.format(email=user.email)
        )
    return lines


def init_app(app: Flask) -> None:
    app.cli.add_command(users_cli)
