//! Expiry tracking: what handoff knows about each tenant's current client
//! secret, and reminders before it expires.

use serde_json::json;

use super::{Service, ServiceError, days_until};
use crate::audit::{Actor, AuditEvent, Kind};
use crate::directory::Tenant;
use crate::domain::now;
use crate::store::TenantRecord;

/// A secret expiring within this many days is flagged on the tenants page.
pub const EXPIRING_WITHIN_DAYS: i64 = 30;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExpiryStatus {
    Ok,
    Expiring,
    Expired,
    /// Applied, but nobody said when it expires.
    Unknown,
    NeverReceived,
}

impl ExpiryStatus {
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Ok => "ok",
            Self::Expiring => "expiring",
            Self::Expired => "expired",
            Self::Unknown => "expiry_unknown",
            Self::NeverReceived => "never_received",
        }
    }
}

#[derive(Debug, Clone)]
pub struct TenantStatus {
    pub tenant: Tenant,
    pub record: Option<TenantRecord>,
    pub status: ExpiryStatus,
    pub days_left: Option<i64>,
}

fn status_of(record: Option<&TenantRecord>, now: i64) -> (ExpiryStatus, Option<i64>) {
    let Some(record) = record else {
        return (ExpiryStatus::NeverReceived, None);
    };
    match record
        .expires_on
        .as_deref()
        .and_then(|d| days_until(d, now))
    {
        None => (ExpiryStatus::Unknown, None),
        Some(days) if days < 0 => (ExpiryStatus::Expired, Some(days)),
        Some(days) if days <= EXPIRING_WITHIN_DAYS => (ExpiryStatus::Expiring, Some(days)),
        Some(days) => (ExpiryStatus::Ok, Some(days)),
    }
}

impl Service {
    /// Every configured tenant with its secret's status, most urgent first.
    pub async fn tenant_statuses(&self) -> Result<Vec<TenantStatus>, ServiceError> {
        let records: std::collections::HashMap<String, TenantRecord> = self
            .store
            .list_tenant_records()
            .await?
            .into_iter()
            .collect();
        let now = now();
        let mut statuses: Vec<TenantStatus> = self
            .directory
            .current()
            .tenants()
            .map(|tenant| {
                let record = records.get(&tenant.slug).cloned();
                let (status, days_left) = status_of(record.as_ref(), now);
                TenantStatus {
                    tenant: tenant.clone(),
                    record,
                    status,
                    days_left,
                }
            })
            .collect();
        // Never received and unknown first (they need a request), then by
        // days left.
        statuses.sort_by_key(|s| (s.days_left.is_some(), s.days_left, s.tenant.slug.clone()));
        Ok(statuses)
    }

    /// Sends each configured reminder (days before expiry) once per secret,
    /// and keeps the expiry gauges current. Called by the sweeper.
    pub async fn remind_expiring(&self, thresholds: &[u32]) -> Result<(), ServiceError> {
        let now = now();
        for (slug, record) in self.store.list_tenant_records().await? {
            let Some(expires_on) = record.expires_on.clone() else {
                continue;
            };
            if let Ok(at) = crate::domain::ExpiryDate::parse(&expires_on, 0) {
                self.metrics.tenant_expiry(&slug, at.unix_time());
            }
            let Some(days_left) = days_until(&expires_on, now) else {
                continue;
            };
            let due: Vec<u32> = thresholds
                .iter()
                .copied()
                .filter(|t| days_left <= i64::from(*t) && !record.reminded.contains(t))
                .collect();
            if due.is_empty() {
                continue;
            }
            // Compare-and-swap: of several instances, one sends each reminder.
            let mut sent = Vec::new();
            self.update_tenant_record(&slug, |current| {
                sent.clear();
                if let Some(current) = current
                    .as_mut()
                    .filter(|c| c.expires_on.as_deref() == Some(expires_on.as_str()))
                {
                    for threshold in &due {
                        if !current.reminded.contains(threshold) {
                            current.reminded.push(*threshold);
                            sent.push(*threshold);
                        }
                    }
                }
            })
            .await?;
            if sent.is_empty() {
                continue;
            }
            self.webhooks.send(
                "secret.expiring",
                json!({ "tenant": slug, "expires_on": expires_on, "days_left": days_left }),
            );
            let automatic = record
                .auto_request
                .as_ref()
                .is_some_and(|a| a.for_expiry == expires_on);
            self.mail_reminder(&slug, &expires_on, days_left, automatic)
                .await;
            let event = AuditEvent::new(Kind::SecretExpiring, &Actor::System)
                .tenant(&slug)
                .detail(format!("expires on {expires_on}, in {days_left} days"));
            self.audit.record(event).await;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::VerificationRecord;

    fn record(expires_on: Option<&str>) -> TenantRecord {
        TenantRecord {
            applied_at: 0,
            applied_by: "staff:alice".into(),
            expires_on: expires_on.map(str::to_owned),
            hint: "abc".into(),
            secret_id: None,
            verification: VerificationRecord {
                verified: true,
                code: "verified".into(),
                message: String::new(),
                aadsts: None,
            },
            sink: "vault".into(),
            reminded: Vec::new(),
            auto_request: None,
        }
    }

    const NOV_22_2026: i64 = 1_795_305_600;

    #[test]
    fn a_tenant_is_ok_expiring_expired_or_never_received() {
        assert_eq!(status_of(None, NOV_22_2026).0, ExpiryStatus::NeverReceived);
        assert_eq!(
            status_of(Some(&record(None)), NOV_22_2026).0,
            ExpiryStatus::Unknown
        );
        assert_eq!(
            status_of(Some(&record(Some("2027-11-22"))), NOV_22_2026),
            (ExpiryStatus::Ok, Some(365))
        );
        assert_eq!(
            status_of(Some(&record(Some("2026-12-01"))), NOV_22_2026),
            (ExpiryStatus::Expiring, Some(9))
        );
        assert_eq!(
            status_of(Some(&record(Some("2026-11-22"))), NOV_22_2026).0,
            ExpiryStatus::Expiring
        );
    }
}
