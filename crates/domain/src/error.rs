use thiserror::Error;

/// One row of an error table: the stable code an error is known by, the HTTP status an
/// interface answers it with, and what it means (the text of `docs/errors.md`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ErrorInfo {
    pub code: &'static str,
    pub status: u16,
    pub meaning: &'static str,
}

impl ErrorInfo {
    pub const fn new(code: &'static str, status: u16, meaning: &'static str) -> ErrorInfo {
        ErrorInfo { code, status, meaning }
    }

    /// The row of `table` with `code`. Meant for constants (`const X: ErrorInfo =
    /// ErrorInfo::find(StoreError::TABLE, "not_found");`): a code that is not in the table
    /// then fails to compile.
    #[allow(clippy::panic)]
    pub const fn find(table: &[ErrorInfo], code: &str) -> ErrorInfo {
        let mut rest = table;
        while let [row, tail @ ..] = rest {
            if const_eq(row.code.as_bytes(), code.as_bytes()) {
                return *row;
            }
            rest = tail;
        }
        panic!("no such code in the table")
    }
}

const fn const_eq(mut a: &[u8], mut b: &[u8]) -> bool {
    loop {
        match (a, b) {
            ([], []) => return true,
            ([x, a_tail @ ..], [y, b_tail @ ..]) if *x == *y => {
                a = a_tail;
                b = b_tail;
            }
            _ => return false,
        }
    }
}

/// Declares the error table of an error enum: one row per variant giving its code, HTTP
/// status and meaning, and the variants that carry another error answer with its row.
/// It generates `TABLE` (the rows, in order), `info()` (an exhaustive match: a variant
/// without a row does not compile), `code()` and `status()`.
///
/// ```
/// # use tenantsync_domain::error_table;
/// #[derive(Debug)]
/// enum E { Missing { name: String }, Busy, Inner(tenantsync_domain::DomainError) }
/// error_table! {
///     E {
///         Missing => "missing", 404, "nothing by that name";
///         Busy => "busy", 503, "try again later";
///     }
///     carried { E::Inner(e) => e.info(); }
/// }
/// assert_eq!(E::Busy.status(), 503);
/// assert_eq!(E::TABLE.len(), 2);
/// ```
#[macro_export]
macro_rules! error_table {
    (
        $ty:ident {
            $( $variant:ident => $code:literal, $status:literal, $meaning:literal; )*
        }
        $( carried { $( $pat:pat => $info:expr; )* } )?
    ) => {
        impl $ty {
            /// Every code of this error type, with its HTTP status and meaning.
            pub const TABLE: &'static [$crate::ErrorInfo] = &[ $( $crate::ErrorInfo::new($code, $status, $meaning), )* ];

            /// This error's row of the table (or of the error it carries).
            pub fn info(&self) -> $crate::ErrorInfo {
                #[allow(unreachable_patterns)]
                match self {
                    $( $ty::$variant { .. } => $crate::ErrorInfo::new($code, $status, $meaning), )*
                    $( $( $pat => $info, )* )?
                }
            }

            /// The stable, documented code of this error (see docs/errors.md).
            pub fn code(&self) -> &'static str {
                self.info().code
            }

            /// The HTTP status an interface answers this error with.
            pub fn status(&self) -> u16 {
                self.info().status
            }
        }
    };
}

/// Validation errors of the domain. Every variant has one row in the error table below.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum DomainError {
    #[error("invalid userPrincipalName '{value}': {reason}")]
    InvalidUpn { value: String, reason: &'static str },
    #[error("invalid mail '{value}': {reason}")]
    InvalidMail { value: String, reason: &'static str },
    #[error("invalid domain name '{value}': {reason}")]
    InvalidDomain { value: String, reason: &'static str },
    #[error("unknown attribute '{name}'")]
    UnknownAttribute { name: String },
    #[error("malformed extension attribute name '{name}': expected extension_<32 hex digits>_<name>")]
    MalformedExtensionName { name: String },
    #[error("attribute '{name}' {reason}")]
    InvalidAttributeValue { name: String, reason: String },
    #[error("attribute '{name}' is read-only")]
    ReadOnlyAttribute { name: String },
    #[error("attribute '{name}' is required")]
    MissingAttribute { name: String },
    #[error("invalid id '{value}': expected a UUID")]
    InvalidId { value: String },
    #[error("invalid anchor '{value}': expected <source tenant id>:<source object id>")]
    InvalidAnchor { value: String },
    #[error("invalid display name: {reason}")]
    InvalidDisplayName { reason: &'static str },
}

error_table! {
    DomainError {
        InvalidUpn => "invalid_upn", 400, "a userPrincipalName that is not `local@domain` with Entra's characters";
        InvalidMail => "invalid_mail", 400, "a mail address that is not ASCII `local@domain`";
        InvalidDomain => "invalid_domain", 400, "a domain name with bad labels or fewer than two labels";
        UnknownAttribute => "unknown_attribute", 400, "an attribute name tenantsync does not know";
        MalformedExtensionName => "malformed_attribute_name", 400, "an extension name not of the form `extension_<32 hex>_<name>`";
        InvalidAttributeValue => "invalid_attribute_value", 400, "a value of the wrong type, too long, or not allowed (e.g. `usageLocation` not two capitals)";
        ReadOnlyAttribute => "read_only_attribute", 400, "a write to `id`, `createdDateTime`, `deletedDateTime`, `version`, `origin`, …";
        MissingAttribute => "missing_attribute", 400, "a required attribute (userPrincipalName) is absent";
        InvalidId => "invalid_id", 400, "an id that is not a UUID";
        InvalidAnchor => "invalid_anchor", 400, "an anchor not of the form `<source tenant id>:<source object id>`";
        InvalidDisplayName => "invalid_display_name", 400, "an empty, too long or control-character display name";
    }
}
