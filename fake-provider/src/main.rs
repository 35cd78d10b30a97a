//! `weir-fake-provider [--listen ADDR] [--api-key KEY]`: runs the fake provider and prints
//! `listening on http://ADDR` on stdout once it accepts connections.

use std::io::Write;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let mut listen = "127.0.0.1:0".to_string();
    let mut key = None;
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        match a.as_str() {
            "--listen" => listen = args.next().ok_or_else(|| anyhow::anyhow!("--listen needs an address"))?,
            "--api-key" => key = args.next(),
            other => anyhow::bail!("unknown argument {other}"),
        }
    }
    let fake = weir_fake_provider::FakeProvider::spawn_on(listen.parse()?, key.as_deref()).await?;
    println!("listening on http://{}", fake.addr);
    std::io::stdout().flush()?;
    tokio::signal::ctrl_c().await?;
    Ok(())
}
