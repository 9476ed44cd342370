"""The Teams app package: fill the manifest template from the settings, write the zip, and check a zip.

The template (``manifests/manifest.template.json``) holds ``${NAME}`` placeholders in string values; building
replaces them, copies the icons and the localization files the manifest names, and zips them with every file
at the root (manifest paths are relative to ``manifest.json``). Checking a package reports *every* problem,
not just the first: JSON Schema of the manifest and of each localization file against Microsoft's own schemas
(from the npm package ``@microsoft/app-manifest`` under ``node_modules/``), the icons' format, size and
transparency (which the schemas cannot see), files that are named but missing, tab URLs that are not https or
not on ``validDomains``, the SSO resource, and translations that are missing or drop a template parameter.
"""

from __future__ import annotations

import functools
import importlib.metadata
import io
import json
import re
import uuid
import zipfile
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from jsonschema import Draft4Validator, validators
from jsonschema.exceptions import ValidationError
from PIL import Image, UnidentifiedImageError

from ..config import PROJECT_ROOT

MANIFESTS_DIR = PROJECT_ROOT / "manifests"
TEMPLATE_NAME = "manifest.template.json"
SCHEMA_PACKAGE = PROJECT_ROOT / "node_modules" / "@microsoft" / "app-manifest"
#: Namespace of the Teams app ids derived from the Entra client id (stable, so upgrades replace the app).
APP_ID_NAMESPACE = uuid.UUID("0b1f5c8e-3d2a-4c6b-9e7f-a81d2c4b5e60")
ICON_SIZES = {"color": (192, 192), "outline": (32, 32), "color32x32": (32, 32)}

_PLACEHOLDER = re.compile(r"\$\{([A-Z_]+)\}")
_SCHEMA_URL = re.compile(
    r"^https://developer\.microsoft\.com/(?:[a-z]{2}(?:-[a-z]{2})?/)?"
    r"(json-schemas/teams/v[^/]+/MicrosoftTeams(?:\.Localization)?\.schema\.json)$", re.I)
_TEMPLATE_PARAMETER = re.compile(r"\{([A-Za-z_][A-Za-z0-9_]*)\}")
_REF = re.compile(r"^\[\[[A-Za-z_][A-Za-z0-9_]*\]\]$")

# Microsoft's schemas are draft-04, where keywords beside a "$ref" are ignored; Ajv (which Teams' own tools use)
# applies them, and the Localization schema relies on it (maxLength next to a $ref). Apply them here too.
_Draft4 = validators.create(
    meta_schema=Draft4Validator.META_SCHEMA, validators=Draft4Validator.VALIDATORS,
    type_checker=Draft4Validator.TYPE_CHECKER, format_checker=Draft4Validator.FORMAT_CHECKER,
    id_of=Draft4Validator.ID_OF,
)


class PackageError(Exception):
    """The package cannot be built; the message says why in one line."""


# -- building --------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class PackageSettings:
    """What the template needs: where the app lives, its Entra registration and how the package is labelled."""

    base_url: str
    client_id: str
    app_id: str
    version: str
    developer_name: str
    website_url: str
    privacy_url: str
    terms_url: str

    @property
    def host(self) -> str:
        """The public host of the tab (the SSO resource is `api://<host>/<client id>`)."""
        return urlsplit(self.base_url).netloc

    def placeholders(self) -> dict[str, str]:
        """The values of the template's ``${NAME}`` placeholders."""
        return {
            "APP_ID": self.app_id, "VERSION": self.version, "CLIENT_ID": self.client_id, "HOST": self.host,
            "BASE_URL": self.base_url.rstrip("/"), "DEVELOPER_NAME": self.developer_name,
            "WEBSITE_URL": self.website_url, "PRIVACY_URL": self.privacy_url, "TERMS_URL": self.terms_url,
        }


def app_version() -> str:
    """The installed Ambassador version: Teams only accepts an update whose manifest version is higher."""
    return importlib.metadata.version("ambassador")


def default_app_id(client_id: str) -> str:
    """A Teams app id derived from the Entra client id: the same on every build, different from the client id."""
    return str(uuid.uuid5(APP_ID_NAMESPACE, client_id.lower()))


def package_settings(config: Mapping[str, Any], *, app_id: str | None = None, developer_name: str | None = None,
                     website_url: str | None = None, privacy_url: str | None = None,
                     terms_url: str | None = None) -> PackageSettings:
    """The package settings from the app's config; the developer links default to the app's own origin."""
    base_url = str(config["APP_BASE_URL"]).rstrip("/")
    parts = urlsplit(base_url)
    if parts.scheme != "https" or not parts.netloc:
        raise PackageError(f"APP_BASE_URL must be an https URL for a Teams package, because Teams only loads "
                           f"https tabs (got {base_url!r})")
    client_id = str(config["AZURE_CLIENT_ID"])
    website = website_url or f"{base_url}/"
    return PackageSettings(
        base_url=base_url, client_id=client_id, app_id=app_id or default_app_id(client_id), version=app_version(),
        developer_name=developer_name or parts.hostname or "Ambassador", website_url=website,
        privacy_url=privacy_url or website, terms_url=terms_url or website,
    )


def render_manifest(settings: PackageSettings, template: Path | None = None) -> dict[str, Any]:
    """The manifest: the template with every placeholder replaced (an unknown one is an error)."""
    document = json.loads((template or MANIFESTS_DIR / TEMPLATE_NAME).read_text(encoding="utf-8"))
    values = settings.placeholders()

    def fill(value: Any) -> Any:
        if isinstance(value, str):
            unknown = set(_PLACEHOLDER.findall(value)) - values.keys()
            if unknown:
                raise PackageError(f"the manifest template uses unknown placeholder(s): {', '.join(sorted(unknown))}")
            return _PLACEHOLDER.sub(lambda m: values[m.group(1)], value)
        if isinstance(value, list):
            return [fill(item) for item in value]
        if isinstance(value, dict):
            return {key: fill(item) for key, item in value.items()}
        return value

    return fill(document)


def referenced_files(manifest: Mapping[str, Any]) -> list[str]:
    """Every file the manifest names: icons, localization files and activity icons, in manifest order."""
    names = [str(path) for path in (manifest.get("icons") or {}).values() if isinstance(path, str)]
    info = manifest.get("localizationInfo") or {}
    if info.get("defaultLanguageFile"):
        names.append(str(info["defaultLanguageFile"]))
    names += [str(lang.get("file")) for lang in info.get("additionalLanguages") or () if isinstance(lang, dict)]
    names += [str(icon.get("iconFile")) for icon in (manifest.get("activities") or {}).get("activityIcons") or ()
              if isinstance(icon, dict)]
    return list(dict.fromkeys(names))


def package_files(settings: PackageSettings, source: Path = MANIFESTS_DIR) -> dict[str, bytes]:
    """The package's files by name: the filled manifest, then each file it names from `source`."""
    manifest = render_manifest(settings, source / TEMPLATE_NAME)
    files = {"manifest.json": (json.dumps(manifest, indent=2, ensure_ascii=False) + "\n").encode()}
    for name in referenced_files(manifest):
        path = source / name
        if not path.is_file():
            raise PackageError(f"the manifest names {name}, which is not in {source}")
        files[name] = path.read_bytes()
    return files


def write_package(files: Mapping[str, bytes], out: Path) -> Path:
    """Zip `files` with every file at the root; the same files always give the same bytes."""
    out.parent.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for name, data in files.items():
            info = zipfile.ZipInfo(name, date_time=(2024, 1, 1, 0, 0, 0))
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o644 << 16
            archive.writestr(info, data)
    return out


def build_package(settings: PackageSettings, out: Path, source: Path = MANIFESTS_DIR) -> Path:
    """Fill the template and write the app package zip to `out`."""
    return write_package(package_files(settings, source), out)


# -- checking --------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Problem:
    """One thing Teams would refuse (or show wrongly), located by file and JSON path."""

    file: str
    where: str
    message: str

    def __str__(self) -> str:
        return f"{self.file} {self.where}: {self.message}" if self.where else f"{self.file}: {self.message}"


class SchemaStore:
    """Microsoft's JSON schemas from the installed ``@microsoft/app-manifest`` package, by ``$schema`` URL."""

    def __init__(self, package: Path = SCHEMA_PACKAGE) -> None:
        self.package = package
        self._validators: dict[Path, Any] = {}

    def validator(self, url: Any) -> Any:
        """A validator for the schema at `url`; ValueError (one line) when it is unknown or not installed."""
        match = _SCHEMA_URL.match(url) if isinstance(url, str) else None
        if match is None:
            raise ValueError(f"$schema {url!r} is not a Microsoft Teams schema URL")
        path = self.package / "build" / match.group(1)
        if path not in self._validators:
            if not (self.package / "package.json").is_file():
                raise ValueError(f"the official schemas are not installed ({self.package}); run `npm ci`")
            if not path.is_file():
                version = json.loads((self.package / "package.json").read_text())["version"]
                raise ValueError(f"@microsoft/app-manifest {version} has no schema for {url}")
            schema = json.loads(path.read_text(encoding="utf-8-sig"))
            self._validators[path] = _Draft4(schema)
        return self._validators[path]


@functools.cache
def _installed_schemas() -> SchemaStore:
    return SchemaStore()


def validate_package(path: Path, schemas: SchemaStore | None = None) -> list[Problem]:
    """Every problem of the app package zip at `path` (an empty list means Teams should accept it)."""
    try:
        with zipfile.ZipFile(path) as archive:
            files = {info.filename: archive.read(info) for info in archive.infolist() if not info.is_dir()}
    except FileNotFoundError:
        return [Problem(str(path), "", "no such file")]
    except (zipfile.BadZipFile, OSError) as exc:
        return [Problem(str(path), "", f"not a zip archive ({exc})")]
    return validate_files(files, schemas)


def validate_files(files: Mapping[str, bytes], schemas: SchemaStore | None = None) -> list[Problem]:
    """Every problem of a package given as its files by name (what the zip holds)."""
    schemas = schemas or _installed_schemas()
    problems = [Problem(name, "", "is in a folder; every file must be at the root of the zip")
                for name in files if "/" in name.rstrip("/")]
    if "manifest.json" not in files:
        return [*problems, Problem("manifest.json", "", "missing at the root of the zip")]
    manifest = _load_json("manifest.json", files["manifest.json"], problems)
    if not isinstance(manifest, dict):
        return problems
    problems += _schema_problems("manifest.json", manifest, schemas)
    for name in referenced_files(manifest):
        if name not in files:
            problems.append(Problem(name, "", "named in manifest.json but missing from the package"))
    problems += _icon_problems(manifest, files)
    problems += _url_problems(manifest)
    problems += _sso_problems(manifest)
    problems += _activity_problems(manifest)
    problems += _localization_problems(manifest, files, schemas)
    return problems


def _load_json(name: str, data: bytes, problems: list[Problem]) -> Any:
    try:
        return json.loads(data.decode("utf-8-sig"))
    except UnicodeDecodeError:
        problems.append(Problem(name, "", "is not UTF-8 text"))
    except json.JSONDecodeError as exc:
        problems.append(Problem(name, "", f"is not valid JSON (line {exc.lineno}, column {exc.colno}: {exc.msg})"))
    return None


# schema
def _schema_problems(name: str, document: Mapping[str, Any], schemas: SchemaStore) -> list[Problem]:
    try:
        validator = schemas.validator(document.get("$schema"))
    except ValueError as exc:
        return [Problem(name, "/$schema", str(exc))]
    errors = sorted(validator.iter_errors(document), key=lambda e: (list(map(str, e.absolute_path)), e.validator))
    return [Problem(name, _pointer(error.absolute_path), _describe(error)) for error in errors]


def _pointer(path: Iterable[Any]) -> str:
    return "/" + "/".join(str(part) for part in path)


def _short(value: Any, limit: int = 60) -> str:
    text = json.dumps(value, ensure_ascii=False)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _describe(error: ValidationError) -> str:
    """The schema error as an admin would say it (jsonschema's own messages can repeat whole documents)."""
    keyword, value, instance = error.validator, error.validator_value, error.instance
    if keyword == "maxLength":
        return f"is {len(instance)} characters long; at most {value} allowed"
    if keyword == "minLength":
        return f"must be at least {value} character(s) long"
    if keyword == "pattern":
        return f"{_short(instance)} does not match the pattern {value}"
    if keyword == "required":
        missing = [key for key in value if isinstance(instance, dict) and key not in instance]
        return f"missing required property {', '.join(repr(key) for key in missing)}"
    if keyword == "additionalProperties" and isinstance(instance, dict):
        schema = error.schema
        known = set(schema.get("properties", {}))
        patterns = [re.compile(p) for p in schema.get("patternProperties", {})]
        extra = [key for key in instance if key not in known and not any(p.search(key) for p in patterns)]
        return f"unknown property {', '.join(repr(key) for key in extra)} (not allowed by the schema)"
    if keyword == "enum":
        return f"{_short(instance)} is not one of {', '.join(map(str, value))}"
    if keyword == "const":
        return f"{_short(instance)} must be {_short(value)}"
    if keyword == "type":
        return f"{_short(instance)} is not of type {value}"
    if keyword in ("maxItems", "minItems"):
        return f"has {len(instance)} items; {'at most' if keyword == 'maxItems' else 'at least'} {value} allowed"
    if keyword == "uniqueItems":
        return "has duplicate items"
    return " ".join(error.message.split())[:200]


# icons
def _icon_problems(manifest: Mapping[str, Any], files: Mapping[str, bytes]) -> list[Problem]:
    problems: list[Problem] = []
    icons = manifest.get("icons") if isinstance(manifest.get("icons"), dict) else {}
    for kind, expected in ICON_SIZES.items():
        name = icons.get(kind)
        if not isinstance(name, str) or name not in files:
            continue  # a missing key is a schema error; a missing file is reported with the referenced files
        problems += _png_problems(name, files[name], expected, transparent=kind != "color",
                                  white=kind == "outline")
    return problems


def _png_problems(name: str, data: bytes, size: tuple[int, int], *, transparent: bool,
                  white: bool) -> list[Problem]:
    try:
        image = Image.open(io.BytesIO(data))
        image.load()
    except (UnidentifiedImageError, OSError, ValueError):
        return [Problem(name, "", "is not a readable image")]
    problems = []
    if image.format != "PNG":
        problems.append(Problem(name, "", f"is a {image.format} image; Teams needs PNG"))
    if image.size != size:
        problems.append(Problem(name, "", f"is {image.width}×{image.height} pixels; it must be {size[0]}×{size[1]}"))
    if not transparent:
        return problems
    has_alpha = image.mode in ("RGBA", "LA", "PA") or "transparency" in image.info
    rgba = image.convert("RGBA")
    lowest, highest = rgba.getchannel("A").getextrema()
    if not has_alpha or lowest > 0:
        problems.append(Problem(name, "", "has no transparent background"))
    elif highest == 0:
        problems.append(Problem(name, "", "is completely transparent"))
    if white:
        # Anti-aliased edges keep their colour; only fairly visible pixels must be (near) white.
        pixels = rgba.tobytes()
        coloured = sum(1 for i in range(0, len(pixels), 4) if pixels[i + 3] >= 32 and min(pixels[i:i + 3]) < 224)
        if coloured:
            problems.append(Problem(name, "", f"has {coloured} visible pixel(s) that are not white; the outline "
                                              "icon must be white on a transparent background"))
    return problems


# URLs and SSO
def _domain_allowed(host: str, domains: Iterable[str]) -> bool:
    host = host.lower()
    for domain in domains:
        domain = domain.lower().strip()
        if domain == host:
            return True
        if domain.startswith("*.") and host.endswith(domain[1:]) and host.count(".") == domain.count("."):
            return True
    return False


def _tab_urls(manifest: Mapping[str, Any]) -> Iterator[tuple[str, str]]:
    for kind, keys in (("staticTabs", ("contentUrl", "websiteUrl", "searchUrl")),
                       ("configurableTabs", ("configurationUrl",))):
        for index, tab in enumerate(manifest.get(kind) or ()):
            if isinstance(tab, dict):
                for key in keys:
                    if isinstance(tab.get(key), str):
                        yield f"/{kind}/{index}/{key}", tab[key]


def _url_problems(manifest: Mapping[str, Any]) -> list[Problem]:
    domains = [d for d in manifest.get("validDomains") or () if isinstance(d, str)]
    problems = []
    for where, url in _tab_urls(manifest):
        parts = urlsplit(url)
        if parts.scheme.lower() != "https":
            problems.append(Problem("manifest.json", where, f"{url} is not https; Teams only loads https pages"))
        elif not _domain_allowed(parts.netloc, domains):
            problems.append(Problem("manifest.json", where, f"{parts.netloc} is not in validDomains "
                                                            f"({', '.join(domains) or 'empty'})"))
    return problems


def _sso_problems(manifest: Mapping[str, Any]) -> list[Problem]:
    info = manifest.get("webApplicationInfo")
    if not isinstance(info, dict):
        return [Problem("manifest.json", "/webApplicationInfo", "missing: Teams SSO and activity notifications "
                                                                "need the Entra app registration")]
    client_id, resource = str(info.get("id", "")), info.get("resource")
    problems = []
    if client_id and client_id.lower() == str(manifest.get("id", "")).lower():
        problems.append(Problem("manifest.json", "/id", "must differ from webApplicationInfo.id (the Teams app and "
                                                        "the Entra app registration have their own ids)"))
    if not isinstance(resource, str):
        return [*problems, Problem("manifest.json", "/webApplicationInfo/resource", "missing: Teams SSO needs the "
                                                                              "Application ID URI")]
    parts = urlsplit(resource)
    if parts.scheme != "api" or parts.path.strip("/") != client_id:
        problems.append(Problem("manifest.json", "/webApplicationInfo/resource",
                                f"{resource} must be api://<host>/{client_id or '<client id>'}"))
    elif not _domain_allowed(parts.netloc, manifest.get("validDomains") or ()):
        problems.append(Problem("manifest.json", "/webApplicationInfo/resource",
                                f"{parts.netloc} is not in validDomains; the SSO resource must be the tab's host"))
    return problems


# activities
def _activity_types(manifest: Mapping[str, Any]) -> list[dict[str, Any]]:
    activities = manifest.get("activities")
    types = activities.get("activityTypes") if isinstance(activities, dict) else None
    return [t for t in types or () if isinstance(t, dict)]


def template_parameters(text: str) -> set[str]:
    """The ``{name}`` parameters of an activity template text (``{actor}`` included)."""
    return set(_TEMPLATE_PARAMETER.findall(text))


def _activity_problems(manifest: Mapping[str, Any]) -> list[Problem]:
    problems, seen = [], set()
    for index, activity in enumerate(_activity_types(manifest)):
        where = f"/activities/activityTypes/{index}"
        kind = activity.get("type")
        if kind == "systemDefault":
            problems.append(Problem("manifest.json", f"{where}/type", "systemDefault is reserved and must not be "
                                                                      "declared"))
        if kind in seen:
            problems.append(Problem("manifest.json", f"{where}/type", f"{kind} is declared twice"))
        seen.add(kind)
        text = activity.get("templateText")
        if isinstance(text, str) and text.count("{") != text.count("}"):
            problems.append(Problem("manifest.json", f"{where}/templateText", "has unbalanced braces"))
    return problems


# localization
def localizable_strings(manifest: Mapping[str, Any]) -> dict[str, str]:
    """Every manifest text a localization file can translate, by its localization key."""
    strings: dict[str, str] = {}
    for key in ("name.short", "name.full", "description.short", "description.full"):
        section, field = key.split(".")
        value = (manifest.get(section) or {}).get(field)
        if isinstance(value, str):
            strings[key] = value
    for index, feature in enumerate((manifest.get("description") or {}).get("features") or ()):
        for field in ("title", "description"):
            if isinstance(feature, dict) and isinstance(feature.get(field), str):
                strings[f"description.features[{index}].{field}"] = feature[field]
    for index, tab in enumerate(manifest.get("staticTabs") or ()):
        if isinstance(tab, dict) and isinstance(tab.get("name"), str):
            strings[f"staticTabs[{index}].name"] = tab["name"]
    for index, activity in enumerate(_activity_types(manifest)):
        for field in ("description", "templateText"):
            if isinstance(activity.get(field), str):
                strings[f"activities.activityTypes[{index}].{field}"] = activity[field]
    return strings


def _localization_problems(manifest: Mapping[str, Any], files: Mapping[str, bytes],
                           schemas: SchemaStore) -> list[Problem]:
    info = manifest.get("localizationInfo")
    if not isinstance(info, dict):
        return []
    problems: list[Problem] = []
    expected = localizable_strings(manifest)
    languages = [(str(info.get("defaultLanguageTag", "")), info.get("defaultLanguageFile"))]
    languages += [(str(lang.get("languageTag", "")), lang.get("file"))
                  for lang in info.get("additionalLanguages") or () if isinstance(lang, dict)]
    for tag, name in languages:
        if not isinstance(name, str) or name not in files:
            continue
        document = _load_json(name, files[name], problems)
        if not isinstance(document, dict):
            continue
        problems += _schema_problems(name, document, schemas)
        translated = {k: v for k, v in document.items() if not k.startswith("$") and k != "localizationKeys"}
        for key in [k for k in expected if k not in translated]:
            problems.append(Problem(name, "", f"no {tag} text for {key} ({_short(expected[key], 50)})"))
        for key in sorted(translated.keys() - expected.keys()):
            if _is_manifest_key(key):
                problems.append(Problem(name, "", f"translates {key}, which the manifest does not have"))
        for key in sorted(k for k in expected.keys() & translated.keys() if k.endswith(".templateText")):
            want, got = template_parameters(expected[key]), template_parameters(str(translated[key]))
            if want != got:
                problems.append(Problem(name, "", f"{key} uses {_names(got)} but the manifest's template uses "
                                                  f"{_names(want)}"))
        for key in (document.get("localizationKeys") or {}):
            if not _REF.match(str(key)):
                problems.append(Problem(name, "/localizationKeys", f"{key} is not a [[key]] reference"))
    return problems


def _is_manifest_key(key: str) -> bool:
    return key.split("[", 1)[0].split(".", 1)[0] in {"name", "description", "staticTabs", "activities"}


def _names(parameters: set[str]) -> str:
    return ", ".join(f"{{{name}}}" for name in sorted(parameters)) or "no parameters"


def activity_types(source: Path = MANIFESTS_DIR) -> dict[str, set[str]]:
    """The activity types the template declares, each with its template parameters (for senders and tests)."""
    document = json.loads((source / TEMPLATE_NAME).read_text(encoding="utf-8"))
    return {str(t["type"]): template_parameters(str(t.get("templateText", ""))) for t in _activity_types(document)}
