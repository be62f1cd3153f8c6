//! Write throughput of the handler against a raw bulk insert; filled in by the next change.

fn main() {
    println!("write_throughput: not measured yet");
}
