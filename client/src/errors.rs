//! Program error codes by name and message, read from the committed IDL (the same file
//! integrators use), so tools can show `6042 OracleStale: Price update is too old`.

use std::sync::OnceLock;

/// One program error.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProgramErrorInfo {
    pub code: u32,
    pub name: String,
    pub msg: String,
}

static IDL: &str = include_str!("../../idl/tidepool.json");

fn table() -> &'static [ProgramErrorInfo] {
    static TABLE: OnceLock<Vec<ProgramErrorInfo>> = OnceLock::new();
    TABLE.get_or_init(|| {
        let idl: serde_json::Value = serde_json::from_str(IDL).expect("committed IDL is JSON");
        idl["errors"]
            .as_array()
            .map(|errors| {
                errors
                    .iter()
                    .filter_map(|e| {
                        Some(ProgramErrorInfo {
                            code: e["code"].as_u64()? as u32,
                            name: e["name"].as_str()?.to_string(),
                            msg: e["msg"].as_str().unwrap_or_default().to_string(),
                        })
                    })
                    .collect()
            })
            .unwrap_or_default()
    })
}

/// The Tidepool error with this custom code, if it is one.
pub fn program_error(code: u32) -> Option<&'static ProgramErrorInfo> {
    table().iter().find(|e| e.code == code)
}

/// `"6042 OracleStale: Price update is too old"`, or the bare code when unknown.
pub fn describe(code: u32) -> String {
    match program_error(code) {
        Some(e) => format!("{} {}: {}", e.code, e.name, e.msg),
        None => format!("custom error {code}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tidepool::error::TidepoolError;

    #[test]
    fn every_program_error_is_named() {
        let code: u32 = TidepoolError::OracleStale.into();
        let e = program_error(code).expect("known");
        assert_eq!(e.name, "OracleStale");
        assert_eq!(e.msg, "Price update is too old");
        assert!(describe(code).starts_with(&format!("{code} OracleStale")));
        assert_eq!(describe(1), "custom error 1");
        let last: u32 = TidepoolError::VaultAsUserAccount.into();
        assert_eq!(
            table().len() as u32,
            last - 6000 + 1,
            "IDL lists every error"
        );
    }
}
