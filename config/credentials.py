"""What looks like a credential: by its name, or by its value.

Used twice, with one answer: error messages never print such a value, and the
escape hatches (`extraArgs`, `env`) refuse to carry one in plain text. A false
positive costs little (a value not echoed, or a flag that must come from a Secret);
a false negative leaks a secret into a Deployment or a CI log. Pure.
"""

from __future__ import annotations

import math
import re
from collections import Counter

# Words that name a credential, matched as whole words of a key or flag name
# (`hfToken`, `--hf_token`, `HF_TOKEN`, `api-key`), never as substrings: vLLM's
# `--max-num-batched-tokens` and the router's `--rate-limit-tokens-per-second` are
# not credentials.
_CREDENTIAL_WORDS = frozenset(
    {"token", "password", "passwd", "secret", "credential", "credentials", "apikey"}
)
# Prefixes of well-known token formats: Hugging Face, OpenAI-style keys, GitHub,
# GitLab, Slack, AWS access key ids, JWTs, bearer headers, PEM private keys.
_TOKEN_PREFIX = re.compile(
    r"(hf_|api_|sk-|sk_|pk_|rk_|ghp_|gho_|ghu_|ghs_|ghr_|github_pat_|glpat-|xox[abprs]-|AKIA|ASIA|eyJ|"
    r"Bearer\s|Basic\s|-----BEGIN)"
)
# Long strings of one token alphabet with high entropy: random keys, whatever their
# prefix. Paths, URLs and names (with '/', '.', ':' or low entropy) do not match.
_TOKEN_ALPHABET = re.compile(r"[A-Za-z0-9_\-+=]+")
_HEX = re.compile(r"[0-9a-f]+")
# Where one token ends and the next begins inside a longer value.
_SEPARATORS = re.compile(r"[\s=:,;'\"&?/@(){}\[\]<>]+")
_URL_USER_INFO = re.compile(r"://[^/@\s]+:[^/@\s]+@")
# One word of a name: lowercase, Capitalized or UPPERCASE, digits allowed.
_NAME_PART = re.compile(r"[A-Z]?[a-z0-9]*|[A-Z0-9]+")
_RANDOM_MIN_LENGTH = 24
_RANDOM_MIN_BITS_PER_CHAR = 3.7


def name_words(name: str) -> list[str]:
    """'hfToken' -> ['hf', 'token']; '--api_key' -> ['api', 'key']."""
    spaced = re.sub(r"([a-z0-9])([A-Z])", r"\1 \2", name)
    return [word.lower() for word in re.split(r"[^A-Za-z0-9]+", spaced) if word]


def is_credential_name(name: str) -> bool:
    """A key, flag or variable name that holds a credential (`hfToken`, `--api-key`,
    `HUGGING_FACE_HUB_TOKEN`, `db_password`)."""
    words = name_words(name)
    if any(word in _CREDENTIAL_WORDS for word in words):
        return True
    pairs = set(zip(words, words[1:], strict=False))
    return bool(pairs & {("api", "key"), ("access", "key"), ("private", "key"), ("secret", "key")})


# One word of a key name: an UPPERCASE run (an acronym, or a word of UPPER_CASE), a
# lowercase or Capitalized word, or digits.
_KEY_WORD = re.compile(r"[A-Z]+(?![a-z])|[A-Z]?[a-z]+|[0-9]+")
_KEY_NAME = re.compile(r"[A-Za-z][A-Za-z0-9]*([_.-][A-Za-z0-9]+)*")
# Longer names may be tokens of a known format with separators (GitLab's glpat-...).
_LONGEST_NAME = 24
_MOST_WORDS = 4
_LONGEST_WORD = 14
_LONGEST_NUMBER = 4
_VOWELS = frozenset("aeiouAEIOU")
_VOWELS_AND_Y = _VOWELS | frozenset("yY")


def _is_word_chunk(chunk: str) -> bool:
    """One '_'/'-'/'.'-separated part of a name: up to 4 words of ordinary length as
    camelCase or UPPER_CASE writes them (no one-letter word among others, a vowel in
    each Capitalized word and in each of more than 4 letters, at most half of them of 2
    letters), digits only at the end ('v2', 'llama3')."""
    words = _KEY_WORD.findall(chunk)
    letters = [word for word in words if word.isalpha()]
    if len(words) > _MOST_WORDS or "".join(words) != chunk or not letters:
        return False
    if any(word.isdigit() for word in words[:-1]):
        return False
    if words[-1].isdigit() and len(words[-1]) > _LONGEST_NUMBER:
        return False
    if any(len(word) > _LONGEST_WORD or (len(word) > 4 and not _VOWELS & set(word)) for word in letters):
        return False
    if len(letters) > 1 and any(len(word) == 1 for word in letters):
        return False  # 'xVBna': camelCase has no one-letter words
    if any(word.istitle() and not _VOWELS_AND_Y & set(word) for word in letters[1:]):
        return False  # 'JbPvp': a Capitalized word of a name is pronounceable
    return sum(len(word) <= 2 for word in letters) <= max(1, len(letters) // 2)


def is_word_name(name: str) -> bool:
    """A key name made of words (`hf_token`, `apiKey`, `HF_TOKEN`, `db-password`,
    `sessionAffinity`), which an error message may print even when it names a
    credential; a token used as a name (`hf_` + 34 random characters, an AKIA id, a
    JWT, a random string) is not one. At most 24 characters: a longer one may be a token."""
    if len(name) > _LONGEST_NAME or not _KEY_NAME.fullmatch(name):
        return False
    return all(_is_word_chunk(chunk) for chunk in re.split(r"[_.-]", name))


def _bits_per_char(value: str) -> float:
    counts = Counter(value)
    return -sum(n / len(value) * math.log2(n / len(value)) for n in counts.values())


def _is_token(piece: str) -> bool:
    """One whitespace- and separator-free piece of text that looks like a token."""
    if _TOKEN_PREFIX.match(piece):
        return len(piece) >= 8
    if len(piece) < _RANDOM_MIN_LENGTH or not _TOKEN_ALPHABET.fullmatch(piece):
        return False
    if _HEX.fullmatch(piece):
        return False  # commit hashes and digests (revisions, image pins) are not secrets
    parts = re.split(r"[-_]", piece)
    if len(parts) >= 2 and all(_NAME_PART.fullmatch(part) for part in parts):
        return False  # words joined by '-' or '_' ("llama-3-1-8b-decode"), not random
    has_letters = any(c.isalpha() for c in piece)
    has_digits = any(c.isdigit() for c in piece)
    return has_letters and has_digits and _bits_per_char(piece) >= _RANDOM_MIN_BITS_PER_CHAR


def looks_like_credential(value: str) -> bool:
    """A value that is, or carries, a token or key: by its format (see the module
    docstring), anywhere in it (`--hf-token=hf_...`), or as `<credential name>=<value>`
    or URL user info (`https://user:pass@host`)."""
    stripped = value.strip()
    if _TOKEN_PREFIX.match(stripped) and len(stripped) >= 8:
        return True
    if _URL_USER_INFO.search(stripped):
        return True
    for word in stripped.split():
        name = re.split(r"[=:]", word, maxsplit=1)[0]
        if name != word and is_credential_name(name):
            return True
    return any(_is_token(piece) for piece in _SEPARATORS.split(stripped) if piece)


_PIECE = re.compile(r"[^\s=:,;'\"&?/@(){}\[\]<>]+")
REDACTED = "<redacted>"


def redact(text: str) -> str:
    """`text` with every token-like piece replaced: a safety net for messages that
    quote what a user wrote (a GPU product, a model name) inside their explanation."""
    return _PIECE.sub(lambda piece: REDACTED if _is_token(piece.group()) else piece.group(), text)


def contains_credential(value: object) -> bool:
    """Any string inside `value` (nested dicts and lists included, keys too) that
    looks like a credential, or any key that names one."""
    if isinstance(value, str):
        return looks_like_credential(value)
    if isinstance(value, dict):
        return any(
            (isinstance(k, str) and (is_credential_name(k) or looks_like_credential(k)))
            or contains_credential(v)
            for k, v in value.items()
        )
    if isinstance(value, (list, tuple)):
        return any(contains_credential(item) for item in value)
    return False
