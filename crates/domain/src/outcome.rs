//! The closed sets of names Entra gives to what provisioning did: skip reasons, quarantine
//! reasons, cycle states and the steps of a provisioning log record. Each enum below is
//! the one place that spells them: a variant's name is its Entra spelling (unless it
//! gives another), and its text says what it means. Logs, job states and outputs use
//! these enums, so a misspelt reason does not compile.

/// Declares an enum of Entra names: the variants, their spelling (the variant's name, or
/// the literal after `=`) and their meaning. It generates `ALL`, `as_str`, `meaning`,
/// `parse`, `Display`, and serde as the spelling.
macro_rules! entra_names {
    (
        $(#[$meta:meta])*
        $name:ident {
            $( $(#[$vmeta:meta])* $variant:ident $(= $spelling:literal)? => $meaning:literal, )*
        }
    ) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum $name {
            $( $(#[$vmeta])* $variant, )*
        }

        impl $name {
            /// Every value, in declaration order.
            pub const ALL: &'static [$name] = &[ $( $name::$variant, )* ];

            /// Entra's spelling.
            pub const fn as_str(self) -> &'static str {
                match self {
                    $( $name::$variant => entra_names!(@spell $variant $($spelling)?), )*
                }
            }

            /// What it means, in one line (the documented text).
            pub const fn meaning(self) -> &'static str {
                match self {
                    $( $name::$variant => $meaning, )*
                }
            }

            /// The value spelt `text` (exactly, as Entra spells it).
            pub fn parse(text: &str) -> Option<$name> {
                Self::ALL.iter().copied().find(|v| v.as_str() == text)
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl serde::Serialize for $name {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_str(self.as_str())
            }
        }

        impl<'de> serde::Deserialize<'de> for $name {
            fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let text = <std::borrow::Cow<'de, str> as serde::Deserialize>::deserialize(d)?;
                $name::parse(&text).ok_or_else(|| {
                    let known: Vec<&str> = Self::ALL.iter().map(|v| v.as_str()).collect();
                    serde::de::Error::custom(format!("unknown {} '{text}' (known: {})", stringify!($name), known.join(", ")))
                })
            }
        }
    };
    (@spell $variant:ident) => { stringify!($variant) };
    (@spell $variant:ident $spelling:literal) => { $spelling };
}

entra_names! {
    /// Why provisioning left an object alone (a provisioning log record's skip reason).
    SkipReason {
        RedundantExport => "the target already holds what the mappings give: nothing to write",
        NotEffectivelyEntitled => "not assigned to the configuration, directly or through an assigned group",
        ScopingFilterFailed => "the configuration's scoping filter leaves it out",
        CreateNotAllowed => "its copy would be created, but the configuration does not allow creates",
        UpdateNotAllowed => "its copy would be updated, but the configuration does not allow updates",
        NotFoundInSource => "gone from the source, with no copy to delete (or deletes not allowed)",
        DeletedInSource => "soft-deleted in the source",
        ExternalUser => "a user provisioned from another tenant: only internal users are synced",
        ExternalGroup => "a group provisioned from another tenant: only internal groups are synced",
        TooManyDeletes => "a deletion held back by the accidental-deletion threshold (staged)",
        EntityTypeNotSupported => "a group of a configuration that does not provision groups",
    }
}

entra_names! {
    /// Why a job is in quarantine.
    QuarantineReason {
        EncounteredTotalEscrowThreshold => "more failed objects in one cycle than the absolute limit",
        EncounteredBaseEscrowThreshold => "more failed objects in one cycle than the failure limit",
        EncounteredEscrowProportionThreshold => "too large a share of a cycle's object actions failed",
        TooManyDeletes => "a cycle would have deleted more than the accidental-deletion threshold allows",
    }
}

entra_names! {
    /// How a cycle ended (Entra's synchronizationTaskExecution state).
    ExecutionState {
        Succeeded => "every object was processed",
        Failed => "the cycle stopped before it processed every object",
        EntryLevelErrors => "the cycle ended, and some objects failed (they are escrowed and retried)",
    }
}

entra_names! {
    /// One step of processing an object, as a provisioning log record names it.
    StepKind {
        EntryImport => "the object was read from the source",
        EntrySynchronizationScoping => "the object was checked against the configuration's scope",
        EntrySynchronizationMatching => "the object's copy was looked for in the target",
        EntryExport => "the decision was written to the target",
    }
}

entra_names! {
    /// The type of a step (Graph's provisioningStepType).
    StepType {
        Import = "import" => "reading the source",
        Scoping = "scoping" => "deciding whether the object is in scope",
        Matching = "matching" => "finding the object's copy in the target",
        Processing = "processing" => "computing the target values",
        ReferenceResolution = "referenceResolution" => "resolving references such as the manager",
        Export = "export" => "writing the target",
    }
}

impl StepKind {
    /// The type of this step.
    pub const fn step_type(self) -> StepType {
        match self {
            StepKind::EntryImport => StepType::Import,
            StepKind::EntrySynchronizationScoping => StepType::Scoping,
            StepKind::EntrySynchronizationMatching => StepType::Matching,
            StepKind::EntryExport => StepType::Export,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_through_text_and_json() {
        for r in SkipReason::ALL {
            assert_eq!(SkipReason::parse(r.as_str()), Some(*r));
            let json = serde_json::to_string(r).unwrap();
            assert_eq!(json, format!("\"{}\"", r.as_str()));
            assert_eq!(serde_json::from_str::<SkipReason>(&json).unwrap(), *r);
        }
        assert_eq!(StepType::ReferenceResolution.as_str(), "referenceResolution");
        assert_eq!(StepKind::EntryExport.step_type().as_str(), "export");
    }

    #[test]
    fn an_unknown_name_is_refused_naming_the_known_ones() {
        let e = serde_json::from_str::<ExecutionState>("\"Succeded\"").unwrap_err().to_string();
        assert!(e.contains("unknown ExecutionState 'Succeded'"), "{e}");
        assert!(e.contains("Succeeded, Failed, EntryLevelErrors"), "{e}");
    }
}
