//! Latency of back-to-back `parallel_for` calls on 2 threads, with idle
//! gaps of 0, 20 and 100 µs between them (as between a model's parallel
//! loops): `cargo run --release -p tessera-runtime --example parallel_for_latency`.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Instant;
fn main() {
    tessera_runtime::pool::set_num_threads(2).unwrap();
    let sink = AtomicUsize::new(0);
    for gap_us in [0u64, 20, 100] {
        let mut v = Vec::new();
        for _ in 0..20000 {
            let t = Instant::now();
            tessera_runtime::parallel_for(8, |r| {
                let mut s = 0;
                for i in r {
                    s += std::hint::black_box(i);
                }
                sink.fetch_add(s, Ordering::Relaxed);
            })
            .unwrap();
            v.push(t.elapsed().as_secs_f64() * 1e6);
            if gap_us > 0 {
                let g = Instant::now();
                while g.elapsed().as_micros() < gap_us as u128 {
                    std::hint::spin_loop();
                }
            }
        }
        v.sort_by(|a, b| a.partial_cmp(b).unwrap());
        let mean: f64 = v.iter().sum::<f64>() / v.len() as f64;
        let p = |q: f64| v[((v.len() - 1) as f64 * q) as usize];
        println!("gap {gap_us:>3} us: mean {mean:.2} p50 {:.2} p90 {:.2} p99 {:.2} p99.9 {:.1} max {:.0} us", p(0.5), p(0.9), p(0.99), p(0.999), p(1.0));
    }
}
