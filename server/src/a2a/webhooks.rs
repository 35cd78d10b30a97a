//! Push-notification URLs a caller registers: the target will call them, so a caller could
//! aim the target at Weir's own network. Each URL's host is resolved and every address it
//! resolves to must be public, unless `a2a.allow_private_webhooks` is set. (The target resolves
//! the name again when it calls; a name that changes its answers in between is beyond what a
//! check here can stop — the target's own egress policy is the last line.)

use std::net::IpAddr;

/// Whether `ip` is one a webhook may not point at: loopback, private, link-local (cloud
/// metadata), unspecified, shared (CGNAT), multicast, documentation, or an IPv4 address
/// written as IPv6.
pub fn is_private(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => {
            let o = v4.octets();
            v4.is_loopback()
                || v4.is_private()
                || v4.is_link_local()
                || v4.is_unspecified()
                || v4.is_broadcast()
                || v4.is_multicast()
                || v4.is_documentation()
                || o[0] == 0
                || (o[0] == 100 && (64..128).contains(&o[1]))
                || (o[0] == 198 && (o[1] == 18 || o[1] == 19))
                || o[0] >= 240
        }
        IpAddr::V6(v6) => {
            if let Some(v4) = v6.to_ipv4_mapped() {
                return is_private(IpAddr::V4(v4));
            }
            let seg = v6.segments();
            // IPv4-compatible (`::a.b.c.d`) and 6to4 (`2002:AABB:CCDD::/16`) addresses carry an
            // IPv4 address inside.
            if seg[..6] == [0; 6] {
                if let Some(v4) = v6.to_ipv4() {
                    return is_private(IpAddr::V4(v4));
                }
            }
            if seg[0] == 0x2002 {
                let v4 = std::net::Ipv4Addr::new((seg[1] >> 8) as u8, seg[1] as u8, (seg[2] >> 8) as u8, seg[2] as u8);
                return is_private(IpAddr::V4(v4));
            }
            v6.is_loopback()
                || v6.is_unspecified()
                || v6.is_multicast()
                || (seg[0] & 0xfe00) == 0xfc00
                || (seg[0] & 0xffc0) == 0xfe80
                || (seg[0] & 0xffc0) == 0xfec0
                // NAT64, well-known (`64:ff9b::/96`) and local (`64:ff9b:1::/48`).
                || (seg[0] == 0x64 && seg[1] == 0xff9b)
                || (seg[0] == 0x2001 && seg[1] == 0x0db8)
        }
    }
}

/// Checks a webhook URL; the error says why it is refused.
pub async fn check(url: &str, allow_private: bool) -> Result<(), String> {
    let parsed = reqwest::Url::parse(url).map_err(|_| format!("the push-notification URL `{}` is not a URL", crate::audit::clip(url)))?;
    if !matches!(parsed.scheme(), "http" | "https") {
        return Err("a push-notification URL must be http or https".into());
    }
    // What the agent's HTTP client reads must be what was checked: no credentials in the URL,
    // no backslash (parsers disagree on both), no whitespace.
    if !parsed.username().is_empty() || parsed.password().is_some() || url.contains('\\') || url.chars().any(char::is_whitespace) {
        return Err("a push-notification URL may not carry credentials, backslashes or spaces".into());
    }
    if allow_private {
        return Ok(());
    }
    let host = parsed.host_str().ok_or("a push-notification URL needs a host")?;
    let port = parsed.port_or_known_default().unwrap_or(443);
    let bare = host.trim_start_matches('[').trim_end_matches(']');
    let addrs: Vec<IpAddr> = match bare.parse::<IpAddr>() {
        Ok(ip) => vec![ip],
        Err(_) => match tokio::time::timeout(std::time::Duration::from_secs(3), tokio::net::lookup_host((bare, port))).await {
            Ok(Ok(a)) => a.map(|s| s.ip()).collect(),
            _ => return Err(format!("the push-notification host `{}` cannot be resolved", crate::audit::clip(bare))),
        },
    };
    if addrs.is_empty() {
        return Err(format!("the push-notification host `{}` cannot be resolved", crate::audit::clip(bare)));
    }
    if addrs.iter().any(|ip| is_private(*ip)) {
        return Err(format!("the push-notification URL points at a private, loopback or link-local address (`{}`), which Weir refuses", crate::audit::clip(bare)));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn private_loopback_and_link_local_addresses_are_told_apart_from_public_ones() {
        for a in ["127.0.0.1", "10.1.2.3", "172.16.0.1", "192.168.1.1", "169.254.169.254", "0.0.0.0", "100.64.0.1", "::1", "fe80::1", "fd00::1", "::ffff:127.0.0.1", "::", "::127.0.0.1", "2002:7f00:1::", "2002:a9fe:a9fe::1", "64:ff9b::a9fe:a9fe", "64:ff9b:1::1", "fec0::1"] {
            assert!(is_private(a.parse().unwrap()), "{a}");
        }
        for a in ["93.184.216.34", "8.8.8.8", "2606:4700::1111", "2002:808:808::1"] {
            assert!(!is_private(a.parse().unwrap()), "{a}");
        }
    }

    #[tokio::test]
    async fn webhooks_on_loopback_are_refused_unless_allowed() {
        assert!(check("http://127.0.0.1:9000/hook", false).await.is_err());
        assert!(check("http://localhost:9000/hook", false).await.is_err());
        assert!(check("http://[::1]/hook", false).await.is_err());
        assert!(check("http://169.254.169.254/latest", false).await.is_err());
        assert!(check("ftp://example.com/", false).await.is_err());
        assert!(check("http://8.8.8.8\\@127.0.0.1/", false).await.is_err(), "a backslash: parsers disagree");
        assert!(check("http://user:pw@8.8.8.8/", false).await.is_err());
        assert!(check("http://8.8.8.8/hook", false).await.is_ok());
        assert!(check("http://127.0.0.1:9000/hook", true).await.is_ok());
    }
}
