// ocr_ort.js - ONNX Runtime's side of bench/ocr.sh: a model on one float32
// input file, timed as bench/ocr_bench.c times deepc.
//
//   node bench/ocr_ort.js MODEL.onnx IN.f32 1x3xHxW [--threads N] [--repeat R]
//
// Prints seconds_per_run (the median of R runs after a warm-up run) and
// cpu_seconds_per_run (the process's user + system CPU time over the R runs
// / R).  onnxruntime-node through NODE_PATH (tests/onnx/install_ort.sh).
'use strict';
const fs = require('fs');

async function main() {
  const a = process.argv.slice(2);
  let threads = 1, repeat = 10;
  for (let i = 3; i + 1 < a.length; i += 2) {
    if (a[i] === '--threads') threads = parseInt(a[i + 1], 10);
    else if (a[i] === '--repeat') repeat = parseInt(a[i + 1], 10);
  }
  const ort = require('onnxruntime-node');
  const session = await ort.InferenceSession.create(a[0], {
    intraOpNumThreads: threads, interOpNumThreads: 1, executionMode: 'sequential',
  });
  const dims = a[2].split('x').map((d) => parseInt(d, 10));
  const buf = fs.readFileSync(a[1]);
  const data = new Float32Array(buf.buffer.slice(buf.byteOffset, buf.byteOffset + buf.byteLength));
  if (data.length !== dims.reduce((x, y) => x * y, 1)) throw new Error(`${a[1]} does not hold ${a[2]} floats`);
  const feeds = { [session.inputNames[0]]: new ort.Tensor('float32', data, dims) };
  await session.run(feeds);
  const times = [];
  const c0 = process.cpuUsage();
  for (let r = 0; r < repeat; r++) {
    const t0 = process.hrtime.bigint();
    await session.run(feeds);
    times.push(Number(process.hrtime.bigint() - t0) / 1e9);
  }
  const c = process.cpuUsage(c0);
  times.sort((x, y) => x - y);
  console.log(`seconds_per_run ${times[Math.floor(times.length / 2)]}`);
  console.log(`cpu_seconds_per_run ${(c.user + c.system) / 1e6 / repeat}`);
}

main().catch((e) => {
  console.error(`ocr_ort: ${e.message || e}`);
  process.exit(1);
});
