//! The seed's Protocol V2 keys: a service's TLV `domain` and its
//! `precision_context`.

use std::fmt;

/// A Protocol V2 TLV domain: which TLV types a service carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Domain {
    /// `"market_data"`: TLV types 1 to 19.
    MarketData,
    /// `"signals"`: TLV types 20 to 39.
    Signals,
    /// `"execution"`: TLV types 40 to 79.
    Execution,
}

impl Domain {
    /// The domain called `name` in the config.
    pub fn from_name(name: &str) -> Option<Domain> {
        match name {
            "market_data" => Some(Domain::MarketData),
            "signals" => Some(Domain::Signals),
            "execution" => Some(Domain::Execution),
            _ => None,
        }
    }

    /// The name used in the config.
    pub fn as_str(self) -> &'static str {
        match self {
            Domain::MarketData => "market_data",
            Domain::Signals => "signals",
            Domain::Execution => "execution",
        }
    }

    /// The TLV types of the domain, inclusive.
    pub fn tlv_types(self) -> std::ops::RangeInclusive<u8> {
        match self {
            Domain::MarketData => 1..=19,
            Domain::Signals => 20..=39,
            Domain::Execution => 40..=79,
        }
    }

    /// Whether a message of `tlv_type` may go to a sink of `domain`: always
    /// when either is unset, else when the type is in the domain's range.
    #[inline]
    pub fn admits(domain: Option<Domain>, tlv_type: Option<u8>) -> bool {
        match (domain, tlv_type) {
            (Some(domain), Some(tlv_type)) => domain.tlv_types().contains(&tlv_type),
            _ => true,
        }
    }

    /// [`Domain::admits`] as a result: on refusal, the message says what the
    /// sink takes.
    pub fn check_tlv(domain: Option<Domain>, tlv_type: Option<u8>) -> Result<(), String> {
        match (domain, tlv_type) {
            (Some(domain), Some(tlv_type)) if !Domain::admits(Some(domain), Some(tlv_type)) => {
                let range = domain.tlv_types();
                Err(format!(
                    "TLV type {tlv_type} is outside the `{domain}` domain, which takes TLV types {} to {}; send it to a service of its domain",
                    range.start(),
                    range.end()
                ))
            }
            _ => Ok(()),
        }
    }
}

impl fmt::Display for Domain {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// How prices are scaled downstream (`precision_context`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum PrecisionContext {
    /// `"dex_token"`: a token's own decimals.
    DexToken,
    /// `"traditional_exchange"`: fixed-point exchange prices.
    TraditionalExchange,
    /// `"mixed"`: both.
    Mixed,
}

impl PrecisionContext {
    /// The context called `name` in the config.
    pub fn from_name(name: &str) -> Option<PrecisionContext> {
        match name {
            "dex_token" => Some(PrecisionContext::DexToken),
            "traditional_exchange" => Some(PrecisionContext::TraditionalExchange),
            "mixed" => Some(PrecisionContext::Mixed),
            _ => None,
        }
    }

    /// The name used in the config.
    pub fn as_str(self) -> &'static str {
        match self {
            PrecisionContext::DexToken => "dex_token",
            PrecisionContext::TraditionalExchange => "traditional_exchange",
            PrecisionContext::Mixed => "mixed",
        }
    }
}

impl fmt::Display for PrecisionContext {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}
