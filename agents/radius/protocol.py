"""RADIUS wire format: a fast struct-based parser for requests, reply
builders, and the authentication methods (PAP, CHAP, MS-CHAPv2 + MPPE).

Pure functions over bytes (no sockets, no database), so that they can be
fuzzed.  Every packet the agent reads or sends goes through this codec:
pyrad's decoder is an order of magnitude slower, so pyrad (with the shipped
dictionaries) plays only the NAS in the tests.

Facts used (RFC 2865/2866/2869/3579/5176/2548/2759/3079):
- header: code(1) id(1) length(2) authenticator(16); 20 <= length <= 4096;
  octets past `length` are padding, a datagram shorter than `length` is
  malformed (RFC 2865 §3);
- Message-Authenticator (80) = HMAC-MD5(secret, packet with the attribute
  zeroed); Access-Request: the Request Authenticator in place;
  Accounting/CoA/Disconnect requests: 16 zero octets; replies: the
  request's authenticator (RFC 3579 §3.2, RFC 5176 §3.3);
- Accounting-Request authenticator = MD5(code+id+len+16 zero+attrs+secret);
- Response authenticator = MD5(code+id+len+request auth+attrs+secret).
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import os
import struct

from Cryptodome.Cipher import DES
from Cryptodome.Hash import MD4

# packet codes
ACCESS_REQUEST = 1
ACCESS_ACCEPT = 2
ACCESS_REJECT = 3
ACCOUNTING_REQUEST = 4
ACCOUNTING_RESPONSE = 5
ACCESS_CHALLENGE = 11
STATUS_SERVER = 12
DISCONNECT_REQUEST = 40
DISCONNECT_ACK = 41
DISCONNECT_NAK = 42
COA_REQUEST = 43
COA_ACK = 44
COA_NAK = 45

# attribute types
USER_NAME = 1
USER_PASSWORD = 2
CHAP_PASSWORD = 3
NAS_IP_ADDRESS = 4
NAS_PORT = 5
SERVICE_TYPE = 6
FRAMED_PROTOCOL = 7
FRAMED_IP_ADDRESS = 8
FILTER_ID = 11
REPLY_MESSAGE = 18
CLASS = 25
VENDOR_SPECIFIC = 26
SESSION_TIMEOUT = 27
CALLED_STATION_ID = 30
CALLING_STATION_ID = 31
NAS_IDENTIFIER = 32
PROXY_STATE = 33
ACCT_STATUS_TYPE = 40
ACCT_DELAY_TIME = 41
ACCT_INPUT_OCTETS = 42
ACCT_OUTPUT_OCTETS = 43
ACCT_SESSION_ID = 44
ACCT_SESSION_TIME = 46
ACCT_TERMINATE_CAUSE = 49
ACCT_INPUT_GIGAWORDS = 52
ACCT_OUTPUT_GIGAWORDS = 53
EVENT_TIMESTAMP = 55
CHAP_CHALLENGE = 60
NAS_PORT_TYPE = 61
ACCT_INTERIM_INTERVAL = 85
NAS_PORT_ID = 87
FRAMED_POOL = 88
MESSAGE_AUTHENTICATOR = 80
ERROR_CAUSE = 101

# Acct-Status-Type values
ACCT_START = 1
ACCT_STOP = 2
ACCT_INTERIM = 3
ACCT_ON = 7
ACCT_OFF = 8

# vendors
VENDOR_MICROSOFT = 311
VENDOR_CISCO = 9
VENDOR_MIKROTIK = 14988
VENDOR_WISPR = 14122
MS_CHAP_ERROR = 2
MS_MPPE_ENCRYPTION_POLICY = 7
MS_MPPE_ENCRYPTION_TYPES = 8
MS_CHAP_CHALLENGE = 11
MS_MPPE_SEND_KEY = 16
MS_MPPE_RECV_KEY = 17
MS_CHAP2_RESPONSE = 25
MS_CHAP2_SUCCESS = 26

MAX_PACKET = 4096
ZERO16 = bytes(16)
_HEADER = struct.Struct("!BBH")
_U32 = struct.Struct("!I")
_MA_EMPTY = b"\x50\x12" + ZERO16

# attributes whose value must be a 4-octet integer/address (RFC 2865/2866)
_FOUR_OCTETS = frozenset({
    NAS_IP_ADDRESS, NAS_PORT, SERVICE_TYPE, FRAMED_PROTOCOL, FRAMED_IP_ADDRESS, SESSION_TIMEOUT,
    ACCT_STATUS_TYPE, ACCT_DELAY_TIME, ACCT_INPUT_OCTETS, ACCT_OUTPUT_OCTETS, ACCT_SESSION_TIME,
    ACCT_TERMINATE_CAUSE, ACCT_INPUT_GIGAWORDS, ACCT_OUTPUT_GIGAWORDS, EVENT_TIMESTAMP, NAS_PORT_TYPE,
})


def dictionary_path() -> str:
    """The shipped dictionary (standard attributes and vendors) for pyrad."""
    return os.path.join(os.path.dirname(__file__), "dictionaries", "dictionary")


class Malformed(ValueError):
    """A datagram that is not a well-formed RADIUS packet; `reason` is the
    counter it is dropped under."""

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


class Request:
    """A parsed request.  `attrs` maps a type to its first value (bytes);
    `vsa` maps (vendor, type) to the first value; `proxy_state` keeps every
    Proxy-State in order; `ma_offset` is where the Message-Authenticator
    value starts (or -1)."""

    __slots__ = ("code", "ident", "authenticator", "attrs", "vsa", "proxy_state", "ma_offset", "data")

    def __init__(self, code, ident, authenticator, attrs, vsa, proxy_state, ma_offset, data):
        self.code = code
        self.ident = ident
        self.authenticator = authenticator
        self.attrs = attrs
        self.vsa = vsa
        self.proxy_state = proxy_state
        self.ma_offset = ma_offset
        self.data = data

    def text(self, attr_type: int, default: str = "") -> str:
        value = self.attrs.get(attr_type)
        return default if value is None else value.decode("utf-8", "replace")

    def integer(self, attr_type: int, default: int = 0) -> int:
        value = self.attrs.get(attr_type)
        return default if value is None else _U32.unpack(value)[0]


def parse(data: bytes) -> Request:
    """Parse a request datagram; raise Malformed on any inconsistency.

    Checks: header size, the length field against the datagram, every
    attribute's length within the packet, 4-octet integer attributes, a
    16-octet Message-Authenticator, well-formed Vendor-Specific."""
    size = len(data)
    if size < 20:
        raise Malformed("truncated")
    code, ident, length = _HEADER.unpack_from(data)
    if length < 20 or length > MAX_PACKET:
        raise Malformed("bad_length")
    if length > size:
        raise Malformed("truncated")
    attrs: dict = {}
    vsa: dict = {}
    proxy_state: list = []
    ma_offset = -1
    pos = 20
    while pos < length:
        if pos + 2 > length:
            raise Malformed("bad_attribute")
        attr_type = data[pos]
        attr_len = data[pos + 1]
        end = pos + attr_len
        if attr_len < 2 or end > length:
            raise Malformed("bad_attribute")
        value = data[pos + 2:end]
        if attr_type == VENDOR_SPECIFIC:
            _parse_vsa(value, vsa)
        elif attr_type == PROXY_STATE:
            proxy_state.append(value)
        elif attr_type == MESSAGE_AUTHENTICATOR:
            if attr_len != 18:
                raise Malformed("bad_attribute")
            ma_offset = pos + 2
        elif attr_type in _FOUR_OCTETS and attr_len != 6:
            raise Malformed("bad_attribute")
        if attr_type not in attrs:
            attrs[attr_type] = value
        pos = end
    if length < size:
        data = data[:length]
    return Request(code, ident, data[4:20], attrs, vsa, proxy_state, ma_offset, data)


def _parse_vsa(value: bytes, vsa: dict) -> None:
    """Vendor-Specific (RFC 2865 §5.26) with the RFC's suggested layout:
    vendor-id(4) then sub-attributes type(1) length(1) value."""
    if len(value) < 4:
        raise Malformed("bad_attribute")
    vendor = _U32.unpack_from(value)[0]
    pos, end = 4, len(value)
    if pos == end:
        raise Malformed("bad_attribute")
    while pos < end:
        if pos + 2 > end:
            raise Malformed("bad_attribute")
        sub_type, sub_len = value[pos], value[pos + 1]
        if sub_len < 2 or pos + sub_len > end:
            raise Malformed("bad_attribute")
        vsa.setdefault((vendor, sub_type), value[pos + 2:pos + sub_len])
        pos += sub_len


# --- authenticators ----------------------------------------------------------

class Keyed:
    """A shared secret with its HMAC-MD5 pads and MD5 state precomputed:
    `hmac.digest` spends most of its time setting OpenSSL up per call,
    copying a prepared MD5 state is several times cheaper (RFC 2104)."""

    __slots__ = ("secret", "inner", "outer", "md5")

    def __init__(self, secret: bytes):
        self.secret = secret
        key = hashlib.md5(secret).digest() if len(secret) > 64 else secret
        key = key.ljust(64, b"\x00")
        self.inner = hashlib.md5(bytes(b ^ 0x36 for b in key))
        self.outer = hashlib.md5(bytes(b ^ 0x5C for b in key))
        self.md5 = hashlib.md5(secret)

    def hmac(self, msg: bytes) -> bytes:
        inner = self.inner.copy()
        inner.update(msg)
        outer = self.outer.copy()
        outer.update(inner.digest())
        return outer.digest()


_keyed_cache: dict = {}


def keyed(secret) -> Keyed:
    if isinstance(secret, Keyed):
        return secret
    found = _keyed_cache.get(secret)
    if found is None:
        if len(_keyed_cache) > 1000:
            _keyed_cache.clear()
        found = _keyed_cache[secret] = Keyed(secret)
    return found


def message_authenticator_ok(req: Request, secret) -> bool:
    """Verify the Message-Authenticator of a request (present by caller's check)."""
    data, offset = req.data, req.ma_offset
    if req.code == ACCESS_REQUEST or req.code == STATUS_SERVER:
        msg = data[:offset] + ZERO16 + data[offset + 16:]
    else:  # Accounting/CoA/Disconnect requests: authenticator zeroed too
        msg = data[:4] + ZERO16 + data[20:offset] + ZERO16 + data[offset + 16:]
    return hmac.compare_digest(keyed(secret).hmac(msg), data[offset:offset + 16])


def accounting_authenticator_ok(req: Request, secret) -> bool:
    data = req.data
    secret = secret.secret if isinstance(secret, Keyed) else secret
    expected = hashlib.md5(data[:4] + ZERO16 + data[20:] + secret).digest()
    return hmac.compare_digest(expected, req.authenticator)


def reply_authenticator_ok(reply: bytes, request_authenticator: bytes, secret: bytes) -> bool:
    """Check the Response Authenticator of a reply we received (CoA ACK/NAK)."""
    if len(reply) < 20:
        return False
    expected = hashlib.md5(reply[:4] + request_authenticator + reply[20:] + secret).digest()
    return hmac.compare_digest(expected, reply[4:20])


# --- building -----------------------------------------------------------------

def attr(attr_type: int, value: bytes) -> bytes:
    if len(value) > 253:
        value = value[:253]
    return bytes((attr_type, len(value) + 2)) + value


def attr_int(attr_type: int, value: int) -> bytes:
    return bytes((attr_type, 6)) + _U32.pack(value & 0xFFFFFFFF)


def attr_ip(attr_type: int, address: str) -> bytes:
    return bytes((attr_type, 6)) + ipaddress.IPv4Address(address).packed


def vsa(vendor: int, sub_type: int, value: bytes) -> bytes:
    if len(value) > 247:
        value = value[:247]
    return bytes((VENDOR_SPECIFIC, len(value) + 8)) + _U32.pack(vendor) + bytes((sub_type, len(value) + 2)) + value


def build_reply(code: int, req: Request, secret, attributes: bytes = b"", with_ma: bool = True) -> bytes:
    """A reply to `req`: Message-Authenticator first (BlastRADIUS), then the
    attributes, then the request's Proxy-State attributes in order."""
    if req.proxy_state:
        attributes += b"".join(attr(PROXY_STATE, p) for p in req.proxy_state)
    key = keyed(secret)
    secret = key.secret
    req_auth = req.authenticator
    if with_ma:
        length = 38 + len(attributes)
        header = _HEADER.pack(code, req.ident, length)
        ma = key.hmac(header + req_auth + _MA_EMPTY + attributes)
        body = b"\x50\x12" + ma + attributes
    else:
        length = 20 + len(attributes)
        header = _HEADER.pack(code, req.ident, length)
        body = attributes
    return header + hashlib.md5(header + req_auth + body + secret).digest() + body


def build_request(code: int, ident: int, secret: bytes, attributes: bytes, with_ma: bool = True) -> bytes:
    """A CoA-Request or Disconnect-Request (RFC 5176 §3): authenticator
    computed like an Accounting-Request's, Message-Authenticator over a
    zeroed authenticator."""
    if with_ma:
        length = 38 + len(attributes)
        header = _HEADER.pack(code, ident, length)
        ma = hmac.digest(secret, header + ZERO16 + _MA_EMPTY + attributes, "md5")
        body = b"\x50\x12" + ma + attributes
    else:
        length = 20 + len(attributes)
        header = _HEADER.pack(code, ident, length)
        body = attributes
    return header + hashlib.md5(header + ZERO16 + body + secret).digest() + body


# --- PAP, CHAP ---------------------------------------------------------------

def pap_decrypt(hidden: bytes, authenticator: bytes, secret) -> bytes:
    """User-Password (RFC 2865 §5.2): b1 = MD5(S + RA), c(i) = p(i) xor b(i),
    b(i) = MD5(S + c(i-1)).  Trailing NULs removed."""
    n = len(hidden)
    if n == 0 or n % 16 or n > 128:
        raise Malformed("bad_attribute")
    if isinstance(secret, Keyed):
        if n == 16:
            state = secret.md5.copy()
            state.update(authenticator)
            key = state.digest()
            return (int.from_bytes(hidden, "big") ^ int.from_bytes(key, "big")).to_bytes(16, "big").rstrip(b"\x00")
        secret = secret.secret
    if n == 16:
        key = hashlib.md5(secret + authenticator).digest()
        plain = (int.from_bytes(hidden, "big") ^ int.from_bytes(key, "big")).to_bytes(16, "big")
    else:
        out = []
        last = authenticator
        for i in range(0, n, 16):
            block = hidden[i:i + 16]
            key = hashlib.md5(secret + last).digest()
            out.append((int.from_bytes(block, "big") ^ int.from_bytes(key, "big")).to_bytes(16, "big"))
            last = block
        plain = b"".join(out)
    return plain.rstrip(b"\x00")


def pap_encrypt(password: bytes, authenticator: bytes, secret: bytes) -> bytes:
    """The client side of PAP hiding (for tests and the load generator)."""
    padded = password + b"\x00" * (-len(password) % 16 or (16 if not password else 0))
    out = []
    last = authenticator
    for i in range(0, len(padded), 16):
        key = hashlib.md5(secret + last).digest()
        block = bytes(a ^ b for a, b in zip(padded[i:i + 16], key, strict=False))
        out.append(block)
        last = block
    return b"".join(out)


def chap_ok(chap_password: bytes, challenge: bytes, password: bytes) -> bool:
    """CHAP-Password = ident(1) + MD5(ident + password + challenge) (RFC 1994)."""
    if len(chap_password) != 17:
        return False
    expected = hashlib.md5(chap_password[:1] + password + challenge).digest()
    return hmac.compare_digest(expected, chap_password[1:])


# --- MS-CHAPv2 (RFC 2759) and MPPE keys (RFC 3079, RFC 2548) -------------------

_MAGIC1 = b"Magic server to client signing constant"
_MAGIC2 = b"Pad to make it do more than one iteration"
_MPPE_MAGIC1 = b"This is the MPPE Master Key"
_MPPE_MAGIC2 = (b"On the client side, this is the send key; on the server side, "
                b"it is the receive key.")
_MPPE_MAGIC3 = (b"On the client side, this is the receive key; on the server side, "
                b"it is the send key.")
_SHS_PAD1 = bytes(40)
_SHS_PAD2 = b"\xf2" * 40


def nt_password_hash(password: str) -> bytes:
    """MD4 of the UTF-16LE password (MD4 from pycryptodomex: OpenSSL 3
    dropped it from the default provider and `cryptography` has none)."""
    return MD4.new(password.encode("utf-16-le")).digest()


def _md4(data: bytes) -> bytes:
    return MD4.new(data).digest()


def challenge_hash(peer_challenge: bytes, authenticator_challenge: bytes, user_name: bytes) -> bytes:
    """RFC 2759 §8.2: SHA1(PeerChallenge + AuthenticatorChallenge + UserName)[:8];
    the user name without a Windows domain prefix."""
    if b"\\" in user_name:
        user_name = user_name.rsplit(b"\\", 1)[1]
    return hashlib.sha1(peer_challenge + authenticator_challenge + user_name).digest()[:8]


def _des_key(key7: bytes) -> bytes:
    """Spread 56 key bits over 8 octets (parity bits left zero, DES ignores them)."""
    bits = int.from_bytes(key7, "big")
    return bytes(((bits >> (49 - 7 * i)) & 0x7F) << 1 for i in range(8))


def _des_encrypt(key7: bytes, block: bytes) -> bytes:
    return DES.new(_des_key(key7), DES.MODE_ECB).encrypt(block)


def challenge_response(challenge: bytes, password_hash: bytes) -> bytes:
    """RFC 2759 §8.5: three DES encryptions keyed by the zero-padded hash."""
    z = password_hash + bytes(5)
    return _des_encrypt(z[0:7], challenge) + _des_encrypt(z[7:14], challenge) + _des_encrypt(z[14:21], challenge)


def generate_nt_response(authenticator_challenge: bytes, peer_challenge: bytes, user_name: bytes,
                         password_hash: bytes) -> bytes:
    return challenge_response(challenge_hash(peer_challenge, authenticator_challenge, user_name), password_hash)


def authenticator_response(password_hash: bytes, nt_response: bytes, peer_challenge: bytes,
                           authenticator_challenge: bytes, user_name: bytes) -> bytes:
    """RFC 2759 §8.7: the "S=<40 hex digits>" string the peer verifies."""
    hash_hash = _md4(password_hash)
    digest = hashlib.sha1(hash_hash + nt_response + _MAGIC1).digest()
    challenge = challenge_hash(peer_challenge, authenticator_challenge, user_name)
    digest = hashlib.sha1(digest + challenge + _MAGIC2).digest()
    return b"S=" + digest.hex().upper().encode()


def mppe_master_keys(password_hash: bytes, nt_response: bytes) -> tuple[bytes, bytes]:
    """RFC 3079 §3.4: (MasterSendKey, MasterReceiveKey) of the server side,
    128-bit.  The authenticator sends MS-MPPE-Send-Key = MasterSendKey and
    MS-MPPE-Recv-Key = MasterReceiveKey."""
    master = hashlib.sha1(_md4(password_hash) + nt_response + _MPPE_MAGIC1).digest()[:16]
    send = hashlib.sha1(master + _SHS_PAD1 + _MPPE_MAGIC3 + _SHS_PAD2).digest()[:16]
    receive = hashlib.sha1(master + _SHS_PAD1 + _MPPE_MAGIC2 + _SHS_PAD2).digest()[:16]
    return send, receive


def salt_encrypt(value: bytes, request_authenticator: bytes, secret: bytes, salt: bytes | None = None) -> bytes:
    """RFC 2548 §2.4.2 key hiding: salt(2, high bit set) + E(len + key + pad)."""
    if salt is None:
        salt = bytes((0x80 | os.urandom(1)[0],)) + os.urandom(1)
    plain = bytes((len(value),)) + value
    plain += bytes(-len(plain) % 16)
    out = []
    last = request_authenticator + salt
    for i in range(0, len(plain), 16):
        key = hashlib.md5(secret + last).digest()
        block = bytes(a ^ b for a, b in zip(plain[i:i + 16], key, strict=False))
        out.append(block)
        last = block
    return salt + b"".join(out)


def salt_decrypt(value: bytes, request_authenticator: bytes, secret: bytes) -> bytes:
    salt, data = value[:2], value[2:]
    out = []
    last = request_authenticator + salt
    for i in range(0, len(data), 16):
        key = hashlib.md5(secret + last).digest()
        block = data[i:i + 16]
        out.append(bytes(a ^ b for a, b in zip(block, key, strict=False)))
        last = block
    plain = b"".join(out)
    return plain[1:1 + plain[0]] if plain else b""


def mschap2_verify(req: Request, password_hash: bytes, secret: bytes):
    """Check an MS-CHAPv2 request against the NT password hash.

    Returns None when the request carries no MS-CHAPv2 attributes, False
    for a wrong response, else the attributes of the Accept (MS-CHAP2-Success,
    MPPE keys and policy)."""
    response = req.vsa.get((VENDOR_MICROSOFT, MS_CHAP2_RESPONSE))
    challenge = req.vsa.get((VENDOR_MICROSOFT, MS_CHAP_CHALLENGE))
    if response is None or challenge is None:
        return None
    if len(response) != 50 or len(challenge) != 16:
        return False
    ident = response[:1]
    peer_challenge = response[2:18]
    nt_response = response[26:50]
    user_name = req.attrs.get(USER_NAME, b"")
    expected = generate_nt_response(challenge, peer_challenge, user_name, password_hash)
    if not hmac.compare_digest(expected, nt_response):
        return False
    success = ident + authenticator_response(password_hash, nt_response, peer_challenge, challenge, user_name)
    send_key, recv_key = mppe_master_keys(password_hash, nt_response)
    return (
        vsa(VENDOR_MICROSOFT, MS_CHAP2_SUCCESS, success)
        + vsa(VENDOR_MICROSOFT, MS_MPPE_RECV_KEY, salt_encrypt(recv_key, req.authenticator, secret))
        + vsa(VENDOR_MICROSOFT, MS_MPPE_SEND_KEY, salt_encrypt(send_key, req.authenticator, secret))
        + vsa(VENDOR_MICROSOFT, MS_MPPE_ENCRYPTION_POLICY, _U32.pack(1))
        + vsa(VENDOR_MICROSOFT, MS_MPPE_ENCRYPTION_TYPES, _U32.pack(6))
    )


MS_CHAP_RESPONSE = 1


def mschap1_verify(req: Request, password_hash: bytes):
    """MS-CHAP v1 (RFC 2433, RFC 2548 MS-CHAP-Response): NT-Response =
    ChallengeResponse(8-octet challenge, NT hash) when Flags = 1.  None when
    absent; True/False otherwise (radtest -t mschap speaks this)."""
    response = req.vsa.get((VENDOR_MICROSOFT, MS_CHAP_RESPONSE))
    challenge = req.vsa.get((VENDOR_MICROSOFT, MS_CHAP_CHALLENGE))
    if response is None or challenge is None:
        return None
    if len(response) != 50 or len(challenge) != 8 or response[1] != 1:
        return False
    return hmac.compare_digest(challenge_response(challenge, password_hash), response[26:50])


def is_mschap1(req: Request) -> bool:
    """Whether the request tries MS-CHAP v1 (carries MS-CHAP-Response)."""
    return (VENDOR_MICROSOFT, MS_CHAP_RESPONSE) in req.vsa


def mschap2_error(req: Request) -> bytes:
    """MS-CHAP-Error for a failed MS-CHAPv2 (RFC 2759 §6: E=691, no retry)."""
    response = req.vsa.get((VENDOR_MICROSOFT, MS_CHAP2_RESPONSE), b"\x00")
    return vsa(VENDOR_MICROSOFT, MS_CHAP_ERROR, response[:1] + b"E=691 R=0 V=3")


# --- speed attributes per NAS vendor -------------------------------------------

def rate_attributes(vendor: str, download_kbit: int, upload_kbit: int) -> bytes:
    """The speed limit in the NAS vendor's own attribute; nothing for 0.

    - MikroTik: Mikrotik-Rate-Limit "rx/tx" from the router's side, i.e.
      the subscriber's upload then download ("512k/2048k");
    - accel-ppp: Filter-Id "down/up" in kbit/s (its shaper's default);
    - Cisco: Cisco-AVPair rate-limit input (upload) and output (download),
      bit/s, as lcp:interface-config (accepted by Cisco and accel-ppp);
    - generic: WISPr-Bandwidth-Max-Down/Up in bit/s.
    """
    if not download_kbit and not upload_kbit:
        return b""
    download_kbit = download_kbit or upload_kbit
    upload_kbit = upload_kbit or download_kbit
    if vendor == "mikrotik":
        return vsa(VENDOR_MIKROTIK, 8, f"{upload_kbit}k/{download_kbit}k".encode())
    if vendor == "accel-ppp":
        return attr(FILTER_ID, f"{download_kbit}/{upload_kbit}".encode())
    if vendor == "cisco":
        out = []
        for index, (direction, kbit) in enumerate((("input", upload_kbit), ("output", download_kbit)), 1):
            bps = kbit * 1000
            burst = max(bps // 8, 8000)
            out.append(vsa(VENDOR_CISCO, 1, (
                f"lcp:interface-config#{index}=rate-limit {direction} {bps} {burst} {burst} "
                "conform-action transmit exceed-action drop").encode()))
        return b"".join(out)
    return vsa(VENDOR_WISPR, 8, _U32.pack(download_kbit * 1000)) + vsa(VENDOR_WISPR, 7, _U32.pack(upload_kbit * 1000))
