"""shellvault/aesgcm.py: AES-256-GCM through libcrypto (ctypes), `cryptography` as fallback.

Known answers from NIST's and McGrew & Viega's GCM test vectors, byte-for-byte agreement
with `cryptography` both ways, refusal of anything altered, a real loader failure (a
library that is not libcrypto), and stores written before this module still opening.
"""

from __future__ import annotations

import base64
import json
import os
import random
import subprocess
import sys
from pathlib import Path
from urllib.parse import quote

import pytest
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from shellvault import aesgcm, filestore
from shellvault.aesgcm import CryptographyCipher, LibcryptoCipher, load_libcrypto

# (key, nonce, plaintext, associated data, ciphertext + tag), hex.
VECTORS = [
    # NIST CAVP gcmEncryptExtIV256.rsp, PTlen 0, AADlen 0, Count 0
    ("b52c505a37d78eda5dd34f20c22540ea1b58963cf8e5bf8ffa85f9f2492505b4",
     "516c33929df5a3284ff463d7", "", "", "bdc1ac884d332457a1d2664f168c76f0"),
    # NIST CAVP gcmEncryptExtIV256.rsp, PTlen 128, AADlen 128, Count 0
    (*(aesgcm.KNOWN_ANSWER[k] for k in ("key", "nonce", "plain", "associated", "sealed")),),
    # McGrew & Viega, "The Galois/Counter Mode of Operation", test case 16
    ("feffe9928665731c6d6a8f9467308308feffe9928665731c6d6a8f9467308308",
     "cafebabefacedbaddecaf888",
     "d9313225f88406e5a55909c5aff5269a86a7a9531534f7da2e4c303d8a318a72"
     "1c3c0c95956809532fcf0e2449a6b525b16aedf5aa0de657ba637b39",
     "feedfacedeadbeeffeedfacedeadbeefabaddad2",
     "522dc1f099567d07f47f37a32a84427d643a8cdcbfe5c0c97598a2bd2555d1aa"
     "8cb08e48590dbb3da7b08b1056828838c5f61e6393ba7a0abcc9f662"
     "76fc6ece0f4e1768cddf8853bb2d551b"),
]


@pytest.fixture(scope="module")
def libcrypto() -> LibcryptoCipher:
    if not sys.platform.startswith("linux"):
        pytest.fail("libcrypto is used on Linux only; elsewhere see test_elsewhere_*")
    loaded = load_libcrypto()
    assert loaded is not None, "no usable libcrypto: the warm file-store env would import " \
        "cryptography"
    return loaded


@pytest.fixture(params=["libcrypto", "cryptography"])
def any_cipher(request: pytest.FixtureRequest) -> aesgcm.Cipher:
    if request.param == "cryptography":
        return CryptographyCipher()
    cipher: aesgcm.Cipher = request.getfixturevalue("libcrypto")
    return cipher


@pytest.mark.parametrize("vector", VECTORS, ids=["empty", "nist-128", "mcgrew-viega-16"])
def test_known_answers(any_cipher: aesgcm.Cipher, vector: tuple[str, ...]) -> None:
    key, nonce, plain, associated, sealed = (bytes.fromhex(v) for v in vector)
    assert any_cipher.encrypt(key, nonce, plain, associated) == sealed
    assert any_cipher.decrypt(key, nonce, sealed, associated) == plain


def test_the_process_uses_libcrypto_on_linux(libcrypto: LibcryptoCipher) -> None:
    assert aesgcm.cipher().name == "libcrypto"
    assert aesgcm.passes_known_answer(libcrypto)


def test_agrees_with_cryptography_both_ways(libcrypto: LibcryptoCipher) -> None:
    rng = random.Random(11)
    lengths = [0, 1, 15, 16, 17, 31, 32, 33, 255, 4096, 65537]
    for round_ in range(300):
        key, nonce = os.urandom(32), os.urandom(12)
        plain = os.urandom(lengths[round_] if round_ < len(lengths) else rng.randrange(600))
        associated = os.urandom(rng.choice([0, 0, 1, 9, 16, 40, 300]))
        ours = libcrypto.encrypt(key, nonce, plain, associated)
        theirs = AESGCM(key).encrypt(nonce, plain, associated)
        assert ours == theirs
        assert len(ours) == len(plain) + aesgcm.TAG_SIZE
        assert libcrypto.decrypt(key, nonce, theirs, associated) == plain
        assert AESGCM(key).decrypt(nonce, ours, associated) == plain


def test_anything_altered_or_a_wrong_key_is_none(any_cipher: aesgcm.Cipher) -> None:
    key, nonce, associated = os.urandom(32), os.urandom(12), b"session:abc"
    for plain in (b"", b"x", b"a secret access key, forty characters lo"):
        sealed = any_cipher.encrypt(key, nonce, plain, associated)
        assert any_cipher.decrypt(key, nonce, sealed, associated) == plain
        for position in range(len(sealed)):  # every byte: ciphertext and tag
            altered = bytearray(sealed)
            altered[position] ^= 0x01
            assert any_cipher.decrypt(key, nonce, bytes(altered), associated) is None
        assert any_cipher.decrypt(key, nonce, sealed, b"session:abd") is None
        assert any_cipher.decrypt(key, nonce, sealed, b"") is None
        assert any_cipher.decrypt(os.urandom(32), nonce, sealed, associated) is None
        assert any_cipher.decrypt(key, os.urandom(12), sealed, associated) is None
        assert any_cipher.decrypt(key, nonce, sealed[:-1], associated) is None
        assert any_cipher.decrypt(key, nonce, sealed + b"\0", associated) is None
        assert any_cipher.decrypt(key, nonce, sealed[:aesgcm.TAG_SIZE - 1], associated) is None


def _python(code: str) -> subprocess.CompletedProcess[str]:
    """`code` in a fresh interpreter: nothing has mapped libcrypto there yet."""
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=60, cwd=Path(__file__).resolve().parents[1])
    assert done.returncode == 0, done.stderr
    return done


MAPPED = """
def mapped():
    with open("/proc/self/maps") as maps:
        return sorted({l.split()[-1] for l in maps if "libcrypto.so" in l})
"""


def test_a_library_that_is_not_libcrypto_is_refused_and_cryptography_does_the_work() -> None:
    # A real loader failure: libc loads fine but has no EVP functions; a missing soname
    # does not load at all. Nothing else has mapped a libcrypto in that interpreter.
    done = _python(MAPPED + """
from shellvault import aesgcm
assert mapped() == [], mapped()
assert aesgcm.load_libcrypto(("libc.so.6", "libcrypto.so.0.0.no-such")) is None
fallback = aesgcm.CryptographyCipher()
assert aesgcm.passes_known_answer(fallback)
key, nonce = b"k" * 32, b"n" * 12
sealed = fallback.encrypt(key, nonce, b"plain", b"name")
assert fallback.decrypt(key, nonce, sealed, b"name") == b"plain"
assert fallback.decrypt(key, nonce, sealed, b"other") is None
print("refused")
""")
    assert done.stdout.split() == ["refused"]


def test_elsewhere_than_linux_libcrypto_is_never_loaded() -> None:
    # macOS's unversioned system libcrypto aborts the process: not even tried.
    done = _python(MAPPED + """
from shellvault import aesgcm
assert aesgcm.load_libcrypto(platform="darwin") is None
print(mapped())
""")
    assert done.stdout.split() == ["[]"]


def test_an_already_mapped_libcrypto_is_the_one_used(libcrypto: LibcryptoCipher) -> None:
    # Python's own _hashlib maps its libcrypto; the loader must take that very file, so
    # the process never holds two copies.
    done = _python(MAPPED + """
import _hashlib
from shellvault import aesgcm
before = mapped()
cipher = aesgcm.load_libcrypto()
assert cipher is not None and before, before
print(cipher.path in before, mapped() == before)
""")
    assert done.stdout.split() == ["True", "True"]


def _legacy_store(directory: Path, passphrase: str, items: dict[str, str]) -> None:
    """A file store as shellvault wrote it before aesgcm.py: `cryptography`'s AESGCM."""
    salt = os.urandom(16)
    key = filestore._derive(passphrase, salt, filestore.KDF_MEMORY_KIB,
                            filestore.KDF_ITERATIONS, filestore.KDF_LANES)

    def seal(plain: bytes, associated: bytes) -> str:
        nonce = os.urandom(12)
        return base64.b64encode(nonce + AESGCM(key).encrypt(nonce, plain, associated)).decode()

    directory.mkdir(parents=True, mode=0o700)
    (directory / filestore.META).write_text(json.dumps({
        "version": 1, "kdf": "argon2id", "salt": base64.b64encode(salt).decode(),
        "memory_kib": filestore.KDF_MEMORY_KIB, "iterations": filestore.KDF_ITERATIONS,
        "lanes": filestore.KDF_LANES,
        "check": seal(filestore.CHECK_PLAINTEXT, filestore.META.encode())}))
    for name, secret in items.items():
        record = {"version": 1, "label": "", "data": seal(secret.encode(), name.encode())}
        (directory / (quote(name, safe="") + filestore.SUFFIX)).write_text(json.dumps(record))


def test_a_store_written_before_opens_and_a_new_item_opens_with_cryptography(
    tmp_path: Path, libcrypto: LibcryptoCipher
) -> None:
    directory = tmp_path / "vault"
    items = {"master:central": '{"AccessKeyId": "AKIAEXAMPLE"}', "session:x/y": "{}"}
    _legacy_store(directory, "old passphrase", items)
    store = filestore.FileStore(directory, lambda new: "old passphrase")
    assert {name: store.get(name) for name in store.names()} == items
    store.set("session:new", "written now")
    record = json.loads((directory / "session%3Anew.item").read_text())
    blob = base64.b64decode(record["data"])
    key = store.unlock()
    assert key is not None
    assert AESGCM(key).decrypt(blob[:12], blob[12:], b"session:new") == b"written now"
    with pytest.raises(filestore.WrongPassphrase):
        filestore.FileStore(directory, lambda new: "another").get("session:new")
