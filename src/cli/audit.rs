//! `consentline audit`: verify, export and show the consent log. Being written: see issue 4.

#[derive(clap::Args)]
pub struct AuditArgs {}

pub fn run(_args: &AuditArgs) -> anyhow::Result<()> {
    anyhow::bail!("audit is not built yet")
}
