// ort_run.js - runs an ONNX model in ONNX Runtime (onnxruntime-node, CPU) on
// inputs given as raw little-endian float32 files, and writes each output
// the same way.  Used by tests/test_onnx_export.c and bench/onnx_predict.sh.
//
//   node ort_run.js MODEL.onnx OUT_PREFIX IN0.f32:D0xD1x... [IN1.f32:...]
//        [--threads N] [--repeat R] [--print]
//
// Input k goes to the model's k-th graph input, with the shape given after
// the colon (batch first).  Output j is written to OUT_PREFIX<j>.f32 and
// its shape printed as "output <j> <name> D0xD1x...".  --repeat R runs the
// model R more times after a warm-up run and prints "seconds_per_run S",
// the median of the R runs (the benchmark's timing), and
// "cpu_seconds_per_run C", the process's CPU time (user + system, every
// thread) over the R runs divided by R.  --print prints, for each row of the first
// output's last axis, its largest value and where it is (a classifier's
// class and probability).
//
//   node ort_run.js --jobs JOBS.txt
//
// runs every line of JOBS.txt (the arguments above, space-separated) in one
// process (the test's many small models), going on after a failing one.
// Exit status 0 when every run succeeded, 1 (messages on stderr) otherwise.
// onnxruntime-node is found through NODE_PATH (tests/onnx/install_ort.sh).
'use strict';
const fs = require('fs');

async function run(args) {
  let threads = 1, repeat = 0, print = false;
  const pos = [];
  for (let i = 0; i < args.length; i++) {
    if (args[i] === '--threads') threads = parseInt(args[++i], 10);
    else if (args[i] === '--repeat') repeat = parseInt(args[++i], 10);
    else if (args[i] === '--print') print = true;
    else pos.push(args[i]);
  }
  if (pos.length < 3) throw new Error('usage: ort_run.js MODEL OUT_PREFIX IN.f32:SHAPE... [--threads N] [--repeat R]');
  const ort = require('onnxruntime-node');
  const session = await ort.InferenceSession.create(pos[0], {
    intraOpNumThreads: threads, interOpNumThreads: 1, executionMode: 'sequential',
  });
  const feeds = {};
  pos.slice(2).forEach((spec, k) => {
    const at = spec.lastIndexOf(':');
    const dims = spec.slice(at + 1).split('x').map((d) => parseInt(d, 10));
    const buf = fs.readFileSync(spec.slice(0, at));
    const data = new Float32Array(buf.buffer.slice(buf.byteOffset, buf.byteOffset + buf.byteLength));
    const want = dims.reduce((a, b) => a * b, 1);
    if (data.length !== want) throw new Error(`${spec}: ${data.length} floats, the shape needs ${want}`);
    if (k >= session.inputNames.length) throw new Error(`the model has ${session.inputNames.length} inputs`);
    feeds[session.inputNames[k]] = new ort.Tensor('float32', data, dims);
  });
  let results = await session.run(feeds);
  if (repeat > 0) {
    const times = [];
    const cpu0 = process.cpuUsage();
    for (let r = 0; r < repeat; r++) {
      const t0 = process.hrtime.bigint();
      results = await session.run(feeds);
      times.push(Number(process.hrtime.bigint() - t0) / 1e9);
    }
    const cpu = process.cpuUsage(cpu0);
    times.sort((a, b) => a - b);
    console.log(`seconds_per_run ${times[Math.floor(times.length / 2)]}`);
    console.log(`cpu_seconds_per_run ${(cpu.user + cpu.system) / 1e6 / repeat}`);
  }
  session.outputNames.forEach((name, j) => {
    const t = results[name];
    fs.writeFileSync(`${pos[1]}${j}.f32`, Buffer.from(t.data.buffer, t.data.byteOffset, t.data.byteLength));
    console.log(`output ${pos[0]} ${j} ${name} ${t.dims.join('x')}`);
    const cols = t.dims[t.dims.length - 1];
    for (let r = 0; print && j === 0 && r < t.data.length / cols; r++) {
      const row = Array.from(t.data.subarray(r * cols, (r + 1) * cols));
      const k = row.indexOf(Math.max(...row));
      console.log(`  row ${r}: class ${k} (p ${row[k].toFixed(6)})`);
    }
  });
}

async function main() {
  const args = process.argv.slice(2);
  if (args[0] !== '--jobs') return run(args);
  let failed = 0;
  for (const line of fs.readFileSync(args[1], 'utf8').split('\n')) {
    if (!line.trim()) continue;
    try {
      await run(line.trim().split(/\s+/));
    } catch (e) {
      failed++;
      console.error(`ort_run: ${line.split(' ')[0]}: ${e.message || e}`);
    }
  }
  if (failed) throw new Error(`${failed} job(s) failed`);
}

main().catch((e) => {
  console.error(`ort_run: ${e.message || e}`);
  process.exit(1);
});
