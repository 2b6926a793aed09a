//! [`CurrentTenant`]: the tenant a request is addressed to.

use std::{future::Future, pin::Pin};

use actix_web::{FromRequest, HttpRequest, dev::Payload, web};
use taskforce_domain::{HostName, Tenant};

use crate::{ApiError, AppState, host::raw_host};

/// The tenant resolved from the request's host. A handler that takes this
/// is a tenant endpoint: on a host that is no tenant's domain it answers
/// `404 tenant_not_found`, on an inactive tenant `403 tenant_inactive`.
#[derive(Debug, Clone)]
pub struct CurrentTenant(pub Tenant);

impl FromRequest for CurrentTenant {
    type Error = ApiError;
    type Future = Pin<Box<dyn Future<Output = Result<Self, ApiError>>>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let state = req.app_data::<web::Data<AppState>>().cloned();
        let raw = state.as_ref().map(|s| raw_host(req, &s.settings.trusted_proxies)).unwrap_or_default();
        Box::pin(async move {
            let state = state.ok_or_else(|| ApiError::internal("application state missing"))?;
            let host = HostName::from_header(&raw).map_err(|_| ApiError::tenant_not_found(&raw))?;
            let directory = state.directory.clone();
            let tenant = web::block(move || directory.resolve(&host)).await??;
            tracing::Span::current().record("tenant", tenant.slug.as_str());
            Ok(CurrentTenant(tenant))
        })
    }
}
