//! MQTT 3.1.1 packets to and from bytes (OASIS spec, section 2 and 3). Only what the Azure device
//! SDKs exchange: QoS 0 and 1, no QoS 2 handshake. Decoding is incremental because TLS hands over
//! records, not packets: `decode` returns `Ok(None)` until a whole packet is buffered. Every length
//! is checked before it is trusted, so hostile input yields a `CodecError`, never a panic or a
//! huge allocation.

/// The largest packet accepted or produced. The SDKs send small JSON documents; IoT Hub caps
/// device messages at 256 KiB, so a larger packet is a broken or hostile client.
pub const MAX_PACKET_SIZE: usize = 256 * 1024;

/// Largest value the four-byte remaining-length varint can hold (spec 2.2.3).
const MAX_REMAINING_LENGTH: usize = 268_435_455;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CodecError {
    #[error("the remaining length runs past four bytes")]
    RemainingLengthTooLong,
    #[error("a {length}-byte packet exceeds the {max}-byte limit")]
    TooLarge { length: usize, max: usize },
    #[error("packet type {0} is reserved")]
    ReservedType(u8),
    #[error("{0} is not supported (only QoS 0 and 1 are)")]
    Unsupported(&'static str),
    #[error("packet type {packet_type} with flags {flags:#06b} is malformed")]
    BadFlags { packet_type: u8, flags: u8 },
    #[error("a field runs past the end of the packet")]
    Truncated,
    #[error("a string is not valid UTF-8")]
    InvalidUtf8,
    #[error("a {0}-byte string does not fit MQTT's 16-bit length")]
    StringTooLong(usize),
    #[error("malformed packet: {0}")]
    Malformed(&'static str),
}

/// The CONNECT packet. The will is parsed (the fields sit between client ID and username, so they
/// must be stepped over) but the server never publishes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Connect {
    pub protocol_name: String,
    /// 4 for MQTT 3.1.1; the server refuses anything else with CONNACK code 1.
    pub protocol_level: u8,
    pub client_id: String,
    pub clean_session: bool,
    pub keep_alive: u16,
    pub will: Option<Will>,
    pub username: Option<String>,
    pub password: Option<Vec<u8>>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Will {
    pub topic: String,
    pub payload: Vec<u8>,
    pub qos: u8,
    pub retain: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Publish {
    pub topic: String,
    /// `Some` for QoS 1 (the ID the PUBACK echoes), `None` for QoS 0.
    pub packet_id: Option<u16>,
    pub payload: Vec<u8>,
    pub retain: bool,
    pub dup: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Packet {
    Connect(Connect),
    ConnAck {
        session_present: bool,
        code: u8,
    },
    Publish(Publish),
    PubAck {
        packet_id: u16,
    },
    /// Topic filters with the QoS each asks for (0, 1 or 2).
    Subscribe {
        packet_id: u16,
        filters: Vec<(String, u8)>,
    },
    /// One return code per filter: the granted QoS, or 0x80 for failure.
    SubAck {
        packet_id: u16,
        return_codes: Vec<u8>,
    },
    Unsubscribe {
        packet_id: u16,
        filters: Vec<String>,
    },
    UnsubAck {
        packet_id: u16,
    },
    PingReq,
    PingResp,
    Disconnect,
}

const CONNECT: u8 = 1;
const CONNACK: u8 = 2;
const PUBLISH: u8 = 3;
const PUBACK: u8 = 4;
const PUBREC: u8 = 5;
const PUBREL: u8 = 6;
const PUBCOMP: u8 = 7;
const SUBSCRIBE: u8 = 8;
const SUBACK: u8 = 9;
const UNSUBSCRIBE: u8 = 10;
const UNSUBACK: u8 = 11;
const PINGREQ: u8 = 12;
const PINGRESP: u8 = 13;
const DISCONNECT: u8 = 14;

/// Takes one whole packet off the front of `buf`, leaving the rest (a later packet's start) there.
/// `Ok(None)` means more bytes are needed; after an error the stream cannot be resynchronised.
pub fn decode(buf: &mut Vec<u8>) -> Result<Option<Packet>, CodecError> {
    let Some((remaining, header_len)) = remaining_length(buf)? else { return Ok(None) };
    let total = header_len + remaining;
    if total > MAX_PACKET_SIZE {
        return Err(CodecError::TooLarge { length: total, max: MAX_PACKET_SIZE });
    }
    if buf.len() < total {
        return Ok(None);
    }
    let packet = parse(buf[0], &buf[header_len..total])?;
    buf.drain(..total);
    Ok(Some(packet))
}

/// The remaining length and the fixed header's size, once the varint is complete (spec 2.2.3).
fn remaining_length(buf: &[u8]) -> Result<Option<(usize, usize)>, CodecError> {
    let mut value = 0usize;
    for i in 0..4 {
        let Some(&byte) = buf.get(1 + i) else { return Ok(None) };
        value |= usize::from(byte & 0x7f) << (7 * i);
        if byte & 0x80 == 0 {
            return Ok(Some((value, 2 + i)));
        }
    }
    Err(CodecError::RemainingLengthTooLong)
}

fn parse(first: u8, body: &[u8]) -> Result<Packet, CodecError> {
    let (packet_type, flags) = (first >> 4, first & 0x0f);
    // Spec 2.2.2: fixed flags are 0 except PUBLISH's and the 0b0010 of PUBREL, SUBSCRIBE, UNSUBSCRIBE.
    let expected_flags = match packet_type {
        PUBLISH => flags,
        PUBREL | SUBSCRIBE | UNSUBSCRIBE => 0b0010,
        _ => 0,
    };
    if flags != expected_flags {
        return Err(CodecError::BadFlags { packet_type, flags });
    }
    let mut r = Reader { bytes: body };
    let packet = match packet_type {
        CONNECT => Packet::Connect(parse_connect(&mut r)?),
        CONNACK => {
            let session_present = r.u8()?;
            if session_present & !1 != 0 {
                return Err(CodecError::Malformed("CONNACK acknowledge flags"));
            }
            Packet::ConnAck { session_present: session_present == 1, code: r.u8()? }
        }
        PUBLISH => {
            let qos = (flags >> 1) & 0b11;
            let topic = r.string()?;
            let packet_id = match qos {
                0 => None,
                1 => Some(r.packet_id()?),
                2 => return Err(CodecError::Unsupported("QoS 2")),
                _ => return Err(CodecError::Malformed("PUBLISH QoS 3")),
            };
            if qos == 0 && flags & 0b1000 != 0 {
                return Err(CodecError::Malformed("DUP set on a QoS 0 PUBLISH"));
            }
            Packet::Publish(Publish { topic, packet_id, payload: r.rest().to_vec(), retain: flags & 1 == 1, dup: flags & 0b1000 != 0 })
        }
        PUBACK => Packet::PubAck { packet_id: r.packet_id()? },
        SUBSCRIBE => {
            let packet_id = r.packet_id()?;
            let mut filters = Vec::new();
            while !r.bytes.is_empty() {
                let filter = r.string()?;
                let qos = r.u8()?;
                if qos > 2 {
                    return Err(CodecError::Malformed("SUBSCRIBE requested QoS above 2"));
                }
                filters.push((filter, qos));
            }
            if filters.is_empty() {
                return Err(CodecError::Malformed("SUBSCRIBE without topic filters"));
            }
            Packet::Subscribe { packet_id, filters }
        }
        SUBACK => Packet::SubAck { packet_id: r.packet_id()?, return_codes: r.rest().to_vec() },
        UNSUBSCRIBE => {
            let packet_id = r.packet_id()?;
            let mut filters = Vec::new();
            while !r.bytes.is_empty() {
                filters.push(r.string()?);
            }
            if filters.is_empty() {
                return Err(CodecError::Malformed("UNSUBSCRIBE without topic filters"));
            }
            Packet::Unsubscribe { packet_id, filters }
        }
        UNSUBACK => Packet::UnsubAck { packet_id: r.packet_id()? },
        PINGREQ => Packet::PingReq,
        PINGRESP => Packet::PingResp,
        DISCONNECT => Packet::Disconnect,
        PUBREC | PUBREL | PUBCOMP => return Err(CodecError::Unsupported("the QoS 2 handshake")),
        other => return Err(CodecError::ReservedType(other)),
    };
    if !r.bytes.is_empty() {
        return Err(CodecError::Malformed("bytes after the packet's last field"));
    }
    Ok(packet)
}

fn parse_connect(r: &mut Reader) -> Result<Connect, CodecError> {
    let protocol_name = r.string()?;
    let protocol_level = r.u8()?;
    let flags = r.u8()?;
    if flags & 1 != 0 {
        return Err(CodecError::Malformed("CONNECT reserved flag set"));
    }
    let keep_alive = r.u16()?;
    let client_id = r.string()?;
    let will = if flags & 0b100 != 0 {
        let qos = (flags >> 3) & 0b11;
        if qos > 2 {
            return Err(CodecError::Malformed("will QoS 3"));
        }
        Some(Will { topic: r.string()?, payload: r.binary()?.to_vec(), qos, retain: flags & 0b10_0000 != 0 })
    } else if flags & 0b11_1000 != 0 {
        return Err(CodecError::Malformed("will QoS or retain without a will"));
    } else {
        None
    };
    let username = if flags & 0b1000_0000 != 0 { Some(r.string()?) } else { None };
    let password = if flags & 0b100_0000 != 0 { Some(r.binary()?.to_vec()) } else { None };
    Ok(Connect { protocol_name, protocol_level, client_id, clean_session: flags & 0b10 != 0, keep_alive, will, username, password })
}

/// A cursor over one packet's body; every read checks the bounds.
struct Reader<'a> {
    bytes: &'a [u8],
}

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Result<&'a [u8], CodecError> {
        if self.bytes.len() < n {
            return Err(CodecError::Truncated);
        }
        let (head, tail) = self.bytes.split_at(n);
        self.bytes = tail;
        Ok(head)
    }
    fn u8(&mut self) -> Result<u8, CodecError> {
        Ok(self.take(1)?[0])
    }
    fn u16(&mut self) -> Result<u16, CodecError> {
        let b = self.take(2)?;
        Ok(u16::from_be_bytes([b[0], b[1]]))
    }
    /// Packet IDs are never 0 (spec 2.3.1).
    fn packet_id(&mut self) -> Result<u16, CodecError> {
        match self.u16()? {
            0 => Err(CodecError::Malformed("packet identifier 0")),
            id => Ok(id),
        }
    }
    fn binary(&mut self) -> Result<&'a [u8], CodecError> {
        let len = self.u16()?;
        self.take(usize::from(len))
    }
    fn string(&mut self) -> Result<String, CodecError> {
        let bytes = self.binary()?;
        std::str::from_utf8(bytes).map(str::to_owned).map_err(|_| CodecError::InvalidUtf8)
    }
    fn rest(&mut self) -> &'a [u8] {
        std::mem::take(&mut self.bytes)
    }
}

impl Packet {
    /// The packet's bytes. Fails only for what MQTT cannot carry: a string over 65,535 bytes or
    /// a packet over `MAX_PACKET_SIZE`.
    pub fn encode(&self) -> Result<Vec<u8>, CodecError> {
        let mut body = Vec::new();
        let first = match self {
            Packet::Connect(c) => {
                put_string(&mut body, &c.protocol_name)?;
                body.push(c.protocol_level);
                let mut flags = 0u8;
                if c.clean_session {
                    flags |= 0b10;
                }
                if let Some(will) = &c.will {
                    flags |= 0b100 | (will.qos & 0b11) << 3 | u8::from(will.retain) << 5;
                }
                if c.password.is_some() {
                    flags |= 0b100_0000;
                }
                if c.username.is_some() {
                    flags |= 0b1000_0000;
                }
                body.push(flags);
                body.extend_from_slice(&c.keep_alive.to_be_bytes());
                put_string(&mut body, &c.client_id)?;
                if let Some(will) = &c.will {
                    put_string(&mut body, &will.topic)?;
                    put_binary(&mut body, &will.payload)?;
                }
                if let Some(username) = &c.username {
                    put_string(&mut body, username)?;
                }
                if let Some(password) = &c.password {
                    put_binary(&mut body, password)?;
                }
                CONNECT << 4
            }
            Packet::ConnAck { session_present, code } => {
                body.extend_from_slice(&[u8::from(*session_present), *code]);
                CONNACK << 4
            }
            Packet::Publish(p) => {
                put_string(&mut body, &p.topic)?;
                if let Some(id) = p.packet_id {
                    body.extend_from_slice(&id.to_be_bytes());
                }
                body.extend_from_slice(&p.payload);
                let qos = u8::from(p.packet_id.is_some());
                PUBLISH << 4 | u8::from(p.dup && qos > 0) << 3 | qos << 1 | u8::from(p.retain)
            }
            Packet::PubAck { packet_id } => {
                body.extend_from_slice(&packet_id.to_be_bytes());
                PUBACK << 4
            }
            Packet::Subscribe { packet_id, filters } => {
                body.extend_from_slice(&packet_id.to_be_bytes());
                for (filter, qos) in filters {
                    put_string(&mut body, filter)?;
                    body.push(*qos);
                }
                SUBSCRIBE << 4 | 0b0010
            }
            Packet::SubAck { packet_id, return_codes } => {
                body.extend_from_slice(&packet_id.to_be_bytes());
                body.extend_from_slice(return_codes);
                SUBACK << 4
            }
            Packet::Unsubscribe { packet_id, filters } => {
                body.extend_from_slice(&packet_id.to_be_bytes());
                for filter in filters {
                    put_string(&mut body, filter)?;
                }
                UNSUBSCRIBE << 4 | 0b0010
            }
            Packet::UnsubAck { packet_id } => {
                body.extend_from_slice(&packet_id.to_be_bytes());
                UNSUBACK << 4
            }
            Packet::PingReq => PINGREQ << 4,
            Packet::PingResp => PINGRESP << 4,
            Packet::Disconnect => DISCONNECT << 4,
        };
        let mut out = Vec::with_capacity(body.len() + 5);
        out.push(first);
        let mut length = body.len();
        if length > MAX_REMAINING_LENGTH || length + 5 > MAX_PACKET_SIZE {
            return Err(CodecError::TooLarge { length: length + 5, max: MAX_PACKET_SIZE });
        }
        loop {
            let byte = (length % 128) as u8;
            length /= 128;
            out.push(if length > 0 { byte | 0x80 } else { byte });
            if length == 0 {
                break;
            }
        }
        out.extend_from_slice(&body);
        Ok(out)
    }
}

fn put_binary(out: &mut Vec<u8>, bytes: &[u8]) -> Result<(), CodecError> {
    let len = u16::try_from(bytes.len()).map_err(|_| CodecError::StringTooLong(bytes.len()))?;
    out.extend_from_slice(&len.to_be_bytes());
    out.extend_from_slice(bytes);
    Ok(())
}

fn put_string(out: &mut Vec<u8>, s: &str) -> Result<(), CodecError> {
    put_binary(out, s.as_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn connect() -> Connect {
        Connect {
            protocol_name: "MQTT".into(),
            protocol_level: 4,
            client_id: "reg-1".into(),
            clean_session: false,
            keep_alive: 60,
            will: None,
            username: Some("0ne000/registrations/reg-1/api-version=2019-03-31&ClientVersion=x".into()),
            password: Some(b"SharedAccessSignature sr=a&sig=b&se=1".to_vec()),
        }
    }

    fn every_packet() -> Vec<Packet> {
        let with_will = Connect {
            will: Some(Will { topic: "last/words".into(), payload: vec![0, 1, 2], qos: 1, retain: true }),
            username: None,
            password: None,
            clean_session: true,
            ..connect()
        };
        vec![
            Packet::Connect(connect()),
            Packet::Connect(with_will),
            Packet::ConnAck { session_present: false, code: 0 },
            Packet::ConnAck { session_present: true, code: 5 },
            Packet::Publish(Publish {
                topic: "$dps/registrations/PUT/iotdps-register/?$rid=1".into(),
                packet_id: Some(7),
                payload: b"{}".to_vec(),
                retain: false,
                dup: true,
            }),
            Packet::Publish(Publish { topic: "a/b".into(), packet_id: None, payload: vec![], retain: true, dup: false }),
            Packet::PubAck { packet_id: 7 },
            Packet::Subscribe { packet_id: 1, filters: vec![("$dps/registrations/res/#".into(), 1), ("x/+/y".into(), 0)] },
            Packet::SubAck { packet_id: 1, return_codes: vec![1, 0, 0x80] },
            Packet::Unsubscribe { packet_id: 2, filters: vec!["$dps/registrations/res/#".into()] },
            Packet::UnsubAck { packet_id: 2 },
            Packet::PingReq,
            Packet::PingResp,
            Packet::Disconnect,
        ]
    }

    #[test]
    fn every_packet_round_trips() {
        for packet in every_packet() {
            let mut buf = packet.encode().unwrap();
            assert_eq!(decode(&mut buf).unwrap(), Some(packet));
            assert!(buf.is_empty());
        }
    }

    #[test]
    fn known_bytes_decode_as_the_spec_says() {
        // PINGREQ, then a QoS 1 PUBLISH to "a/b" with packet ID 10 and payload "hi".
        let mut buf = vec![0xc0, 0x00, 0x32, 0x09, 0x00, 0x03, b'a', b'/', b'b', 0x00, 0x0a, b'h', b'i'];
        assert_eq!(decode(&mut buf).unwrap(), Some(Packet::PingReq));
        let expected = Publish { topic: "a/b".into(), packet_id: Some(10), payload: b"hi".to_vec(), retain: false, dup: false };
        assert_eq!(decode(&mut buf).unwrap(), Some(Packet::Publish(expected)));
        assert_eq!(Packet::PingResp.encode().unwrap(), vec![0xd0, 0x00]);
        assert_eq!(Packet::ConnAck { session_present: false, code: 4 }.encode().unwrap(), vec![0x20, 0x02, 0x00, 0x04]);
    }

    #[test]
    fn a_packet_split_across_reads_waits_for_its_last_byte() {
        let publish = Packet::Publish(Publish { topic: "t".into(), packet_id: Some(3), payload: vec![b'x'; 300], retain: false, dup: false });
        let bytes = [publish.encode().unwrap(), Packet::PingReq.encode().unwrap()].concat();
        let mut buf = Vec::new();
        let mut decoded = Vec::new();
        for byte in bytes {
            buf.push(byte);
            if let Some(packet) = decode(&mut buf).unwrap() {
                decoded.push(packet);
            }
        }
        assert_eq!(decoded, vec![publish, Packet::PingReq]);
        assert!(buf.is_empty());
    }

    #[test]
    fn two_byte_remaining_length_is_encoded_and_read() {
        let publish = Packet::Publish(Publish { topic: "t".into(), packet_id: None, payload: vec![0; 200], retain: false, dup: false });
        let bytes = publish.encode().unwrap();
        assert_eq!(&bytes[..3], &[0x30, 0xcb, 0x01]); // 203 = 0x4b + 1 * 128
        assert_eq!(decode(&mut bytes.clone()).unwrap(), Some(publish));
    }

    #[test]
    fn a_fifth_length_byte_is_rejected() {
        let mut buf = vec![0x30, 0xff, 0xff, 0xff, 0xff, 0x01];
        assert_eq!(decode(&mut buf), Err(CodecError::RemainingLengthTooLong));
        let mut incomplete = vec![0x30, 0xff, 0xff, 0xff];
        assert_eq!(decode(&mut incomplete), Ok(None));
    }

    #[test]
    fn an_oversize_packet_is_rejected_from_its_header_alone() {
        let mut buf = vec![0x30, 0x80, 0x80, 0x20]; // 512 KiB announced, nothing sent yet
        assert_eq!(decode(&mut buf), Err(CodecError::TooLarge { length: 4 + 512 * 1024, max: MAX_PACKET_SIZE }));
        let huge = Packet::Publish(Publish { topic: "t".into(), packet_id: None, payload: vec![0; MAX_PACKET_SIZE], retain: false, dup: false });
        assert!(matches!(huge.encode(), Err(CodecError::TooLarge { .. })));
    }

    #[test]
    fn lengths_that_overrun_the_packet_are_rejected() {
        // PUBLISH whose topic claims 200 bytes inside a 5-byte body.
        let mut buf = vec![0x30, 0x05, 0x00, 0xc8, b'a', b'b', b'c'];
        assert_eq!(decode(&mut buf), Err(CodecError::Truncated));
        // PINGREQ with a body.
        assert!(matches!(decode(&mut vec![0xc0, 0x01, 0x00]), Err(CodecError::Malformed(_))));
        // PUBACK with a one-byte packet ID.
        assert_eq!(decode(&mut vec![0x40, 0x01, 0x01]), Err(CodecError::Truncated));
    }

    #[test]
    fn malformed_headers_and_fields_are_rejected() {
        assert_eq!(decode(&mut vec![0x00, 0x00]), Err(CodecError::ReservedType(0)));
        assert_eq!(decode(&mut vec![0xf0, 0x00]), Err(CodecError::ReservedType(15)));
        assert_eq!(decode(&mut vec![0x80, 0x05, 0x00, 0x01, 0x00, 0x00, 0x00]), Err(CodecError::BadFlags { packet_type: 8, flags: 0 }));
        assert_eq!(decode(&mut vec![0x34, 0x05, 0x00, 0x01, b't', 0x00, 0x01]), Err(CodecError::Unsupported("QoS 2")));
        assert!(matches!(decode(&mut vec![0x36, 0x03, 0x00, 0x01, b't']), Err(CodecError::Malformed(_))));
        assert!(matches!(decode(&mut vec![0x82, 0x02, 0x00, 0x01]), Err(CodecError::Malformed(_))));
        assert!(matches!(decode(&mut vec![0x82, 0x06, 0x00, 0x01, 0x00, 0x01, b't', 0x03]), Err(CodecError::Malformed(_))));
        assert!(matches!(decode(&mut vec![0x40, 0x02, 0x00, 0x00]), Err(CodecError::Malformed(_))));
        assert_eq!(decode(&mut vec![0x30, 0x04, 0x00, 0x02, 0xff, 0xfe]), Err(CodecError::InvalidUtf8));
        assert_eq!(decode(&mut vec![0x62, 0x02, 0x00, 0x01]), Err(CodecError::Unsupported("the QoS 2 handshake")));
        let mut reserved_connect_flag = Packet::Connect(Connect { username: None, password: None, ..connect() }).encode().unwrap();
        reserved_connect_flag[9] |= 1; // fixed header 2 + "MQTT" 6 + level 1: byte 9 holds the flags
        assert!(matches!(decode(&mut reserved_connect_flag), Err(CodecError::Malformed(_))));
    }
}
