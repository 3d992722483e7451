"""Writes the 10,000-service config that the Sinks::new() benchmark compiles."""

print("# 10,000 relay services for the Sinks::new() benchmark (benches/sinks).")
print("# Regenerate with: python3 benches/gen_services.py > benches/services_10000.toml")
print("[services]")
for index in range(10_000):
    print(f's{index} = {{ type = "relay", endpoint = "/tmp/sinks-bench/s{index}.sock" }}')
