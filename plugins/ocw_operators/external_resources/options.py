"""Options of the markdown import (CLI flags or DAG Params), validated before anything runs."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path

from ocw_operators.external_resources.resource_fields import DEFAULT_SITEMAP_DOMAIN, LicenseWarningPolicy
from ocw_operators.external_resources.site_git import GitSettings


class Rule(StrEnum):
    LINK_TO_EXTERNAL_RESOURCE = "link_to_external_resource"
    NAV_ITEM_TO_EXTERNAL_RESOURCE = "nav_item_to_external_resource"


class ImportOptionsError(ValueError):
    """The options contradict each other or are incomplete."""


@dataclass(frozen=True)
class ImportOptions:
    sites_dir: Path
    rules: tuple[Rule, ...]
    run_id: str
    commit: bool = False
    out_csv: Path | None = None
    published_only: bool = False
    license_policy: LicenseWarningPolicy = LicenseWarningPolicy.BY_DOMAIN
    sitemap_domain: str = DEFAULT_SITEMAP_DOMAIN
    site_names: tuple[str, ...] = ()
    git: GitSettings | None = None  # commit in sites that are git checkouts (None: write without committing)

    @classmethod
    def build(
        cls,
        *,
        sites_dir: str | Path,
        rules: Iterable[str],
        run_id: str,
        commit: bool = False,
        out_csv: str | Path | None = None,
        published_only: bool = False,
        add_external_license_warning: bool = False,
        no_external_license_warning: bool = False,
        sitemap_domain: str = DEFAULT_SITEMAP_DOMAIN,
        site_names: Sequence[str] = (),
        git_author: str = "",
        git_push_remote: str = "",
    ) -> ImportOptions:
        """Validate raw option values (CLI flags or DAG Params) into options, or raise ImportOptionsError."""
        rule_names = list(dict.fromkeys(rules))
        if not rule_names:
            raise ImportOptionsError(f"name at least one rule: {', '.join(Rule)}")
        unknown = [name for name in rule_names if name not in set(Rule)]
        if unknown:
            raise ImportOptionsError(f"unknown rule(s) {unknown}; choose from {', '.join(Rule)}")
        if not commit and not out_csv:
            raise ImportOptionsError(
                "this is a dry run by default: pass commit to save changes, an output CSV to report them, or both"
            )
        try:
            policy = LicenseWarningPolicy.from_flags(
                add_warning=add_external_license_warning, no_warning=no_external_license_warning
            )
        except ValueError as error:
            raise ImportOptionsError(str(error)) from None
        if not str(sites_dir).strip():
            raise ImportOptionsError("no sites directory given (set OCW_SITES_DIR or pass sites_dir)")
        if not run_id:
            raise ImportOptionsError("run_id must not be empty")
        try:
            git = GitSettings.parse(git_author, git_push_remote)
        except ValueError as error:
            raise ImportOptionsError(str(error)) from None
        return cls(
            sites_dir=Path(sites_dir),
            rules=tuple(Rule(name) for name in rule_names),
            run_id=run_id,
            commit=commit,
            out_csv=Path(out_csv) if out_csv else None,
            published_only=published_only,
            license_policy=policy,
            sitemap_domain=(sitemap_domain or DEFAULT_SITEMAP_DOMAIN).strip().lower(),
            site_names=tuple(site_names),
            git=git,
        )
