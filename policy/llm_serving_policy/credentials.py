"""What an input must not carry in plain text: a credential, by its name or its shape.

The pack's own copy of the rule, kept small, so the pack depends on nothing but
pulumi-policy and can be applied to any project. A false positive costs a value moved
into a Secret; a false negative leaks a token into a Deployment's spec.
"""

from __future__ import annotations

import math
import re
from collections import Counter

# Whole words of a name that say it holds a credential (HF_TOKEN, --api-key, dbPassword).
CREDENTIAL_WORDS = frozenset({"token", "password", "passwd", "secret", "credential", "credentials", "apikey"})
CREDENTIAL_WORD_PAIRS = frozenset({("api", "key"), ("access", "key"), ("private", "key"), ("secret", "key")})
# Words that make a credential-looking name a reference or a limit, not a credential:
# `--max-num-batched-tokens`, `HF_TOKEN_PATH`, `secretName`, `tokenizer`.
NOT_A_CREDENTIAL_WORDS = frozenset({"file", "path", "dir", "name", "ref", "url", "urls"})
# Well-known token formats: Hugging Face, OpenAI-style, GitHub, GitLab, Slack, AWS, JWT.
TOKEN_PATTERN = re.compile(
    r"\b(hf_[A-Za-z0-9]{20,}|sk-[A-Za-z0-9_-]{16,}|gh[pousr]_[A-Za-z0-9]{20,}|github_pat_[A-Za-z0-9_]{20,}"
    r"|glpat-[A-Za-z0-9_-]{16,}|xox[abprs]-[A-Za-z0-9-]{10,}|(AKIA|ASIA)[A-Z0-9]{16}"
    r"|eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]*|-----BEGIN [A-Z ]*PRIVATE KEY-----)"
)
_WORD_BOUNDARY = re.compile(r"([a-z0-9])([A-Z])")
# Runs of one token alphabet, cut at "/", "=", ".", ":" (paths, selectors, URLs).
_RANDOM_PIECE = re.compile(r"[A-Za-z0-9+_-]{32,}")


def name_words(name: str) -> list[str]:
    """'hfToken' -> ['hf', 'token']; '--api_key' -> ['api', 'key']."""
    spaced = _WORD_BOUNDARY.sub(r"\1 \2", name)
    return [word.lower() for word in re.split(r"[^A-Za-z0-9]+", spaced) if word]


def is_credential_name(name: str) -> bool:
    """A variable, flag or data key whose value is a credential."""
    words = name_words(name)
    if not words or words[-1] in NOT_A_CREDENTIAL_WORDS:
        return False
    pairs = set(zip(words, words[1:], strict=False))
    return any(word in CREDENTIAL_WORDS for word in words) or bool(pairs & CREDENTIAL_WORD_PAIRS)


def _looks_random(piece: str) -> bool:
    """A long high-entropy string with letters and digits: a key, not a word or a hash."""
    if re.fullmatch(r"[0-9a-f]+", piece):
        return False  # commit hashes and image digests
    if all(len(part) <= 12 for part in re.split(r"[-_]", piece)):
        return False  # words joined by '-' or '_' ("llama-3-1-8b-instruct-decode")
    counts = Counter(piece)
    bits = -sum(n / len(piece) * math.log2(n / len(piece)) for n in counts.values())
    return any(c.isdigit() for c in piece) and any(c.isalpha() for c in piece) and bits >= 4.0


def looks_like_credential(value: str) -> bool:
    """A value that is, or carries, a token: by a known format or as a long random string."""
    if TOKEN_PATTERN.search(value):
        return True
    return any(_looks_random(piece) for piece in _RANDOM_PIECE.findall(value))


def credential_flag(args: list[str]) -> str | None:
    """The first `--<credential name> <literal>` or `--<credential name>=<literal>` in
    a command line, or a literal token anywhere in it; None when there is none."""
    for index, arg in enumerate(args):
        if not isinstance(arg, str):
            continue
        if looks_like_credential(arg):
            return f"argument {index}"
        flag, equals, value = arg.partition("=")
        if not flag.startswith("-") or not is_credential_name(flag):
            continue
        literal = value if equals else (args[index + 1] if index + 1 < len(args) else "")
        # `$(VAR)` is expanded by the kubelet from env, which may come from a Secret.
        if isinstance(literal, str) and literal and not literal.startswith("-") and "$(" not in literal:
            return f"{flag} (argument {index})"
    return None
