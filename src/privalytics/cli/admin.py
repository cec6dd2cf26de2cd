"""``privalytics admin``: admin API keys and dashboard users."""

from __future__ import annotations

import sys

import click

from privalytics.cli.common import echo_json, run, settings, with_services
from privalytics.domain.accounts import Accounts
from privalytics.domain.services import Services


@click.group()
def admin() -> None:
    """Administration credentials."""


@admin.group("key")
def key() -> None:
    """Admin API keys."""


@key.command("create")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@click.pass_context
def key_create(ctx: click.Context, as_json: bool) -> None:
    """Create an admin API key (shown only once)."""
    text = run(with_services(settings(ctx), lambda s: s.admin.create_admin_key()))
    if as_json:
        echo_json({"key": text})
    else:
        click.echo(f"Admin API key (shown only once, store it now):\n  {text}")


@key.command("list")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@click.pass_context
def key_list(ctx: click.Context, as_json: bool) -> None:
    """List the admin API keys (ids only: secrets are never stored)."""
    infos = run(with_services(settings(ctx), lambda s: s.admin.list_admin_keys()))
    if as_json:
        echo_json(
            {
                "keys": [
                    {
                        "id": info.id,
                        "created_at": info.created_at.isoformat(),
                        "revoked_at": info.revoked_at.isoformat() if info.revoked_at else None,
                    }
                    for info in infos
                ]
            }
        )
        return
    if not infos:
        click.echo("no admin keys: privalytics admin key create")
    for info in infos:
        state = f"revoked {info.revoked_at:%Y-%m-%d %H:%M}" if info.revoked_at else "active"
        click.echo(f"{info.id}  created {info.created_at:%Y-%m-%d %H:%M}  {state}")


@key.command("revoke")
@click.argument("key_id")
@click.pass_context
def key_revoke(ctx: click.Context, key_id: str) -> None:
    """Revoke an admin API key.

    Every server refuses it within the cache TTL (30 s by default)."""
    run(with_services(settings(ctx), lambda s: s.admin.revoke_admin_key(key_id)))
    click.echo(f"revoked admin key {key_id}")


@admin.group("user")
def user() -> None:
    """Dashboard users (sign in at /dashboard)."""


def _accounts(services: Services) -> Accounts:
    if services.accounts is None:  # pragma: no cover (bootstrap always gives a user store)
        raise click.ClickException("this storage keeps no dashboard users")
    return services.accounts


def _read_password(password_stdin: bool) -> str:
    if password_stdin:
        return sys.stdin.readline().rstrip("\r\n")
    value: str = click.prompt("Password", hide_input=True, confirmation_prompt=True)
    return value


@user.command("create")
@click.argument("username")
@click.option("--password-stdin", is_flag=True, help="Read the password from standard input.")
@click.pass_context
def user_create(ctx: click.Context, username: str, password_stdin: bool) -> None:
    """Create a dashboard user.

    The password is read from a prompt (or standard input with --password-stdin)."""
    password = _read_password(password_stdin)
    run(with_services(settings(ctx), lambda s: _accounts(s).create_user(username, password)))
    click.echo(f"created user {username}")


@user.command("password")
@click.argument("username")
@click.option("--password-stdin", is_flag=True, help="Read the password from standard input.")
@click.pass_context
def user_password(ctx: click.Context, username: str, password_stdin: bool) -> None:
    """Set a dashboard user's password."""
    password = _read_password(password_stdin)
    run(with_services(settings(ctx), lambda s: _accounts(s).set_password(username, password)))
    click.echo(f"changed the password of {username}")


@user.command("list")
@click.pass_context
def user_list(ctx: click.Context) -> None:
    """List dashboard users."""
    users = run(with_services(settings(ctx), lambda s: _accounts(s).list_users()))
    if not users:
        click.echo("no users yet: privalytics admin user create NAME")
    for item in users:
        click.echo(f"{item.username}  created {item.created_at:%Y-%m-%d %H:%M}")


@user.command("delete")
@click.argument("username")
@click.pass_context
def user_delete(ctx: click.Context, username: str) -> None:
    """Delete a dashboard user."""
    run(with_services(settings(ctx), lambda s: _accounts(s).delete_user(username)))
    click.echo(f"deleted user {username}")
