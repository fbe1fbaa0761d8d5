//! The PostgreSQL frontend protocol (what a client sends to a server), split into messages as
//! it streams through a proxy, so a filter can look at the SQL of simple queries (`Q`) and of
//! extended-protocol Parse messages (`P`). Pure: bytes in, frames out, no I/O. The frames of a
//! stream, concatenated, are exactly the bytes pushed, in order — a proxy that forwards every
//! frame forwards the stream unchanged.
//!
//! The stream starts with untyped packets (an int32 length that counts itself, an int32 code):
//! an SSLRequest or GSSENCRequest is followed by another one; after an SSLRequest the server's
//! `S` makes the client start a TLS handshake (its first byte is 0x16), which this cannot read,
//! so the rest of the stream is opaque; a CancelRequest ends the stream. After the startup
//! packet come typed messages (a type byte, an int32 length that counts itself). Anything that
//! does not look like the protocol (a length below its minimum, an unknown protocol version)
//! also makes the rest opaque: it is passed on untouched, never a panic.
use std::fmt;

/// SSLRequest's code (`1234 << 16 | 5679`).
pub const SSL_REQUEST: u32 = 80_877_103;
/// GSSENCRequest's code.
pub const GSSENC_REQUEST: u32 = 80_877_104;
/// CancelRequest's code.
pub const CANCEL_REQUEST: u32 = 80_877_102;
/// The first byte of a TLS handshake record.
const TLS_HANDSHAKE: u8 = 0x16;
/// PostgreSQL refuses longer startup packets (`MAX_STARTUP_PACKET_LENGTH`).
const MAX_STARTUP: usize = 10_000;
/// PostgreSQL refuses longer messages (`PQ_LARGE_MESSAGE_LIMIT`, 1 GB - 1).
const MAX_MESSAGE: usize = 0x3fff_ffff;

/// Why the rest of a stream is passed on without being read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Opaque {
    /// The client started TLS after its SSLRequest (or at once, with direct SSL).
    Tls,
    /// The client sent a CancelRequest: nothing should follow it.
    AfterCancel,
    /// The bytes were not the protocol (what was wrong).
    Garbage(String),
}

impl fmt::Display for Opaque {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Opaque::Tls => f.write_str("encrypted (TLS)"),
            Opaque::AfterCancel => f.write_str("after a CancelRequest"),
            Opaque::Garbage(why) => write!(f, "not the PostgreSQL protocol: {why}"),
        }
    }
}

/// What part of the stream a [`Frame`] is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Part {
    /// A whole untyped packet: the startup packet, an SSLRequest, GSSENCRequest or CancelRequest
    /// (its code; the startup packet's is the protocol version, 196608 for 3.0).
    Untyped(u32),
    /// A whole simple-query (`Q`) or Parse (`P`) message, with its SQL.
    Query {
        /// `b'Q'` or `b'P'`.
        kind: u8,
        /// The query string (invalid UTF-8 replaced).
        sql: String,
    },
    /// Another typed message, or a piece of one (`first`: the piece with its type byte). These
    /// are passed on as they arrive, not held until whole (a COPY's data may be large).
    Other {
        /// The message type byte.
        kind: u8,
        /// Whether this piece starts the message.
        first: bool,
    },
    /// Bytes after the stream became opaque (see [`MessageSplitter::opaque`]).
    Opaque,
}

/// A run of the stream's bytes and what they are.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Frame {
    /// Where the frame starts in the stream (bytes pushed before it).
    pub offset: u64,
    /// Its bytes, exactly as received.
    pub bytes: Vec<u8>,
    /// What they are.
    pub part: Part,
}

impl Frame {
    /// The SQL of a `Q` or `P` message.
    pub fn query(&self) -> Option<&str> {
        match &self.part {
            Part::Query { sql, .. } => Some(sql),
            _ => None,
        }
    }
}

/// Where the splitter is in the stream.
#[derive(Debug, Clone, PartialEq, Eq)]
enum State {
    /// Expecting an untyped packet (`after_ssl`: an SSLRequest came just before it).
    Untyped { after_ssl: bool },
    /// Expecting a typed message's header.
    Typed,
    /// Inside a typed message being passed on: its type and the bytes still to come.
    Passing { kind: u8, left: usize },
    /// Reading nothing any more.
    Opaque(Opaque),
}

/// Splits one client→server stream into [`Frame`]s, incrementally: bytes may arrive in any
/// pieces (a message split over reads, several in one read).
#[derive(Debug, Clone)]
pub struct MessageSplitter {
    state: State,
    /// Bytes of an incomplete packet, header or Q/P message, held until it is whole.
    pending: Vec<u8>,
    /// Bytes of the stream already returned in frames.
    emitted: u64,
}

impl Default for MessageSplitter {
    fn default() -> Self {
        Self { state: State::Untyped { after_ssl: false }, pending: Vec::new(), emitted: 0 }
    }
}

impl MessageSplitter {
    /// A splitter at the start of a stream.
    pub fn new() -> Self {
        Self::default()
    }

    /// Why the rest of the stream is not read (`None`: it still is).
    pub fn opaque(&self) -> Option<&Opaque> {
        match &self.state {
            State::Opaque(why) => Some(why),
            _ => None,
        }
    }

    /// Takes the next bytes of the stream; returns the frames they complete. Bytes of an
    /// incomplete untyped packet, message header or Q/P message are held for the next push.
    pub fn push(&mut self, data: &[u8]) -> Vec<Frame> {
        let mut frames = Vec::new();
        let mut data = data;
        while !data.is_empty() {
            match self.state.clone() {
                State::Opaque(_) => {
                    let mut bytes = std::mem::take(&mut self.pending);
                    bytes.extend_from_slice(data);
                    self.emit(&mut frames, bytes, Part::Opaque);
                    data = &[];
                }
                State::Passing { kind, left } => {
                    let n = left.min(data.len());
                    self.emit(&mut frames, data[..n].to_vec(), Part::Other { kind, first: false });
                    data = &data[n..];
                    self.state = if n == left { State::Typed } else { State::Passing { kind, left: left - n } };
                }
                State::Untyped { after_ssl } => {
                    if self.pending.is_empty() && data[0] == TLS_HANDSHAKE {
                        // After the server's `S` (or with direct SSL, at once): TLS.
                        self.state = State::Opaque(Opaque::Tls);
                        continue;
                    }
                    let Some(len) = self.need(&mut data, 4, |head| be32(head) as usize) else { continue };
                    if !(8..=MAX_STARTUP).contains(&len) {
                        self.garbage(&mut frames, format!("an untyped packet of {len} bytes"));
                        continue;
                    }
                    let Some(packet) = self.take(&mut data, len) else { continue };
                    let code = be32(&packet[4..8]);
                    self.state = match code {
                        SSL_REQUEST => State::Untyped { after_ssl: true },
                        GSSENC_REQUEST => State::Untyped { after_ssl },
                        CANCEL_REQUEST => State::Opaque(Opaque::AfterCancel),
                        version if version >> 16 == 3 => State::Typed,
                        other => State::Opaque(Opaque::Garbage(format!("unknown startup code {other}"))),
                    };
                    self.emit(&mut frames, packet, Part::Untyped(code));
                }
                State::Typed => {
                    let Some((kind, len)) = self.need(&mut data, 5, |head| (head[0], be32(&head[1..5]) as usize))
                    else {
                        continue;
                    };
                    if !(4..=MAX_MESSAGE).contains(&len) {
                        self.garbage(&mut frames, format!("message `{}` of length {len}", kind.escape_ascii()));
                        continue;
                    }
                    if kind == b'Q' || kind == b'P' {
                        let Some(message) = self.take(&mut data, len + 1) else { continue };
                        let sql = query_text(kind, &message[5..]);
                        self.state = State::Typed;
                        self.emit(&mut frames, message, Part::Query { kind, sql });
                    } else {
                        let header = std::mem::take(&mut self.pending);
                        self.state = if len == 4 { State::Typed } else { State::Passing { kind, left: len - 4 } };
                        self.emit(&mut frames, header, Part::Other { kind, first: true });
                    }
                }
            }
        }
        frames
    }

    /// Moves bytes from `data` into `pending` until it holds `n`; then reads the header from
    /// them (leaving them pending). `None`: `data` ran out first.
    fn need<T>(&mut self, data: &mut &[u8], n: usize, read: impl Fn(&[u8]) -> T) -> Option<T> {
        let wanted = n.saturating_sub(self.pending.len()).min(data.len());
        self.pending.extend_from_slice(&data[..wanted]);
        *data = &data[wanted..];
        (self.pending.len() >= n).then(|| read(&self.pending[..n]))
    }

    /// Like [`Self::need`], but returns the `n` pending bytes, whole, and empties `pending`.
    fn take(&mut self, data: &mut &[u8], n: usize) -> Option<Vec<u8>> {
        self.need(data, n, |_| ())?;
        Some(std::mem::take(&mut self.pending))
    }

    /// The rest of the stream, from what is pending on, is passed on unread.
    fn garbage(&mut self, frames: &mut Vec<Frame>, why: String) {
        self.state = State::Opaque(Opaque::Garbage(why));
        let pending = std::mem::take(&mut self.pending);
        self.emit(frames, pending, Part::Opaque);
    }

    /// The bytes held for an incomplete packet or message, when the stream ends (they are
    /// passed on as they are: the server judges a truncated message).
    pub fn flush(&mut self) -> Option<Frame> {
        let mut frames = Vec::new();
        let pending = std::mem::take(&mut self.pending);
        self.emit(&mut frames, pending, Part::Opaque);
        frames.pop()
    }

    fn emit(&mut self, frames: &mut Vec<Frame>, bytes: Vec<u8>, part: Part) {
        if bytes.is_empty() {
            return;
        }
        let offset = self.emitted;
        self.emitted += bytes.len() as u64;
        frames.push(Frame { offset, bytes, part });
    }
}

fn be32(bytes: &[u8]) -> u32 {
    u32::from_be_bytes([bytes[0], bytes[1], bytes[2], bytes[3]])
}

/// The SQL of a `Q` body (a C string) or a `P` body (the statement's name, then the query, each
/// a C string).
fn query_text(kind: u8, body: &[u8]) -> String {
    let mut strings = body.split(|b| *b == 0);
    if kind == b'P' {
        strings.next();
    }
    String::from_utf8_lossy(strings.next().unwrap_or_default()).into_owned()
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// An untyped packet: length, code, body.
    pub(crate) fn untyped(code: u32, body: &[u8]) -> Vec<u8> {
        let mut out = ((body.len() + 8) as u32).to_be_bytes().to_vec();
        out.extend_from_slice(&code.to_be_bytes());
        out.extend_from_slice(body);
        out
    }

    /// A protocol 3.0 startup packet for `user`.
    pub(crate) fn startup(user: &str) -> Vec<u8> {
        untyped(196_608, format!("user\0{user}\0database\0postgres\0\0").as_bytes())
    }

    /// A typed message.
    pub(crate) fn typed(kind: u8, body: &[u8]) -> Vec<u8> {
        let mut out = vec![kind];
        out.extend_from_slice(&((body.len() + 4) as u32).to_be_bytes());
        out.extend_from_slice(body);
        out
    }

    /// A simple query.
    pub(crate) fn query(sql: &str) -> Vec<u8> {
        typed(b'Q', format!("{sql}\0").as_bytes())
    }

    fn parse(name: &str, sql: &str) -> Vec<u8> {
        // Then the count of parameter types (0).
        typed(b'P', format!("{name}\0{sql}\0\0\0").as_bytes())
    }

    fn concat(parts: &[&[u8]]) -> Vec<u8> {
        parts.concat()
    }

    /// Pushes `stream` in pieces of `piece` bytes; checks that the frames give it back whole.
    fn split(stream: &[u8], piece: usize) -> (Vec<Frame>, MessageSplitter) {
        let mut splitter = MessageSplitter::new();
        let mut frames: Vec<Frame> = stream.chunks(piece).flat_map(|chunk| splitter.push(chunk)).collect();
        frames.extend(splitter.flush());
        let back: Vec<u8> = frames.iter().flat_map(|f| f.bytes.clone()).collect();
        assert_eq!(back, stream, "the frames are the stream, in order (pieces of {piece})");
        let mut offset = 0;
        for frame in &frames {
            assert_eq!(frame.offset, offset);
            offset += frame.bytes.len() as u64;
        }
        (frames, splitter)
    }

    fn queries(frames: &[Frame]) -> Vec<&str> {
        frames.iter().filter_map(Frame::query).collect()
    }

    #[test]
    fn startup_then_queries_in_any_pieces() {
        let stream = concat(&[&startup("postgres"), &query("BEGIN"), &query("PREPARE TRANSACTION 'x'")]);
        for piece in [1, 2, 3, 5, 7, 64, stream.len()] {
            let (frames, splitter) = split(&stream, piece);
            assert_eq!(frames[0].part, Part::Untyped(196_608));
            assert_eq!(queries(&frames), ["BEGIN", "PREPARE TRANSACTION 'x'"], "pieces of {piece}");
            assert_eq!(splitter.opaque(), None);
        }
    }

    #[test]
    fn ssl_request_refused_then_startup() {
        let stream = concat(&[&untyped(SSL_REQUEST, b""), &startup("u"), &query("SELECT 1")]);
        let (frames, _) = split(&stream, 3);
        assert_eq!(frames[0].part, Part::Untyped(SSL_REQUEST));
        assert_eq!(frames[1].part, Part::Untyped(196_608));
        assert_eq!(queries(&frames), ["SELECT 1"]);
    }

    #[test]
    fn gssenc_then_ssl_then_startup() {
        let stream = concat(&[&untyped(GSSENC_REQUEST, b""), &untyped(SSL_REQUEST, b""), &startup("u"), &query("x")]);
        let (frames, _) = split(&stream, 4);
        assert_eq!(queries(&frames), ["x"]);
    }

    #[test]
    fn coalesced_messages_and_others_pass_as_they_come() {
        let copy = typed(b'd', &[7u8; 100]);
        let stream = concat(&[
            &startup("u"),
            &parse("s1", "PREPARE TRANSACTION 'a'"),
            &typed(b'S', b""),
            &copy,
            &query("COMMIT"),
        ]);
        let (frames, _) = split(&stream, stream.len());
        assert_eq!(queries(&frames), ["PREPARE TRANSACTION 'a'", "COMMIT"]);
        assert!(frames.iter().any(|f| f.part == Part::Other { kind: b'S', first: true }));
        // Split reads: a COPY's data goes on in the pieces it came in.
        let (frames, _) = split(&stream, 10);
        let pieces = frames.iter().filter(|f| matches!(f.part, Part::Other { kind: b'd', .. })).count();
        assert!(pieces > 5, "{pieces} pieces of the 'd' message");
        assert_eq!(queries(&frames), ["PREPARE TRANSACTION 'a'", "COMMIT"]);
    }

    #[test]
    fn parse_with_an_unnamed_statement() {
        let (frames, _) = split(&concat(&[&startup("u"), &parse("", "prepare transaction 'b'")]), 1);
        assert_eq!(queries(&frames), ["prepare transaction 'b'"]);
        assert!(matches!(frames[1].part, Part::Query { kind: b'P', .. }));
    }

    #[test]
    fn tls_after_ssl_request_is_opaque() {
        let hello = [TLS_HANDSHAKE, 3, 1, 0, 200, 1, 2, 3];
        let stream = concat(&[&untyped(SSL_REQUEST, b""), &hello, &query("never read")]);
        let (frames, splitter) = split(&stream, 2);
        assert_eq!(splitter.opaque(), Some(&Opaque::Tls));
        assert!(queries(&frames).is_empty());
        // Direct SSL (no SSLRequest) too.
        let (_, splitter) = split(&hello, 8);
        assert_eq!(splitter.opaque(), Some(&Opaque::Tls));
    }

    #[test]
    fn cancel_request_ends_the_stream() {
        let (_, splitter) = split(&concat(&[&untyped(CANCEL_REQUEST, &[0; 8]), b"more"]), 5);
        assert_eq!(splitter.opaque(), Some(&Opaque::AfterCancel));
    }

    #[test]
    fn garbage_lengths_make_it_opaque_without_panicking() {
        // An untyped length below 8, a typed length below 4, a huge one, an unknown version.
        let cases: [Vec<u8>; 5] = [
            vec![0, 0, 0, 2, 1, 2, 3],
            concat(&[&startup("u"), &[b'Q', 0, 0, 0, 3, b'x']]),
            concat(&[&startup("u"), &[b'Q', 0xff, 0xff, 0xff, 0xff]]),
            untyped(12_345, b"abc"),
            vec![0x7f, 0xff, 0xff, 0xff, 0, 0],
        ];
        for stream in &cases {
            for piece in [1, 3, stream.len()] {
                let (frames, splitter) = split(stream, piece);
                assert!(matches!(splitter.opaque(), Some(Opaque::Garbage(_))), "{stream:?}: {:?}", splitter.opaque());
                assert!(queries(&frames).is_empty());
            }
        }
        // An empty push is fine; a message cut short by the close is passed on at the end.
        assert!(MessageSplitter::new().push(&[]).is_empty());
        let (frames, splitter) = split(&concat(&[&startup("u"), &query("SELECT 1")[..6]]), 4);
        assert_eq!(splitter.opaque(), None);
        assert_eq!(frames.last().map(|f| f.bytes.len()), Some(6));
    }
}
