#!/usr/bin/env python3
# float64_reference.py - evaluates a PaddleOCR detector ONNX graph (the ops of
# ch_PP-OCRv4_det_infer.onnx: Conv, ConvTranspose, BatchNormalization, Mul,
# Add, Div, Clip, GlobalAveragePool, Relu, Sigmoid, HardSigmoid, Concat,
# Resize nearest, Constant) in float64 with PyTorch, to see how far each
# float32 runtime (deepc, ONNX Runtime) is from the exact map.  Not a test:
# used once to judge test_ocr's detector tolerance (docs/ocr.md).
#
#   /usr/bin/python3 tests/onnx/float64_reference.py MODEL.onnx IN.f32 H W OUT.f64
#
# IN.f32: the (1, 3, H, W) input as raw float32 (test_ocr leaves
# build/ocr_test_tmp/det_640x640.f32); OUT.f64: the map as raw float64.
import onnx, numpy as np, torch, torch.nn.functional as F, sys
from onnx import numpy_helper
torch.set_num_threads(2)
m=onnx.load(sys.argv[1]); g=m.graph
h,w=int(sys.argv[3]),int(sys.argv[4])
env={t.name:torch.from_numpy(numpy_helper.to_array(t).astype(np.float64) if numpy_helper.to_array(t).dtype==np.float32 else numpy_helper.to_array(t)) for t in g.initializer}
x=np.fromfile(sys.argv[2],dtype=np.float32).reshape(1,3,h,w)
env[g.input[0].name]=torch.from_numpy(x.astype(np.float64))
def A(n): return {a.name:onnx.helper.get_attribute_value(a) for a in n.attribute}
for n in g.node:
    a=A(n); I=[env[i] if i else None for i in n.input]; op=n.op_type
    if op=='Constant':
        t=numpy_helper.to_array(a['value']); y=torch.from_numpy(t.astype(np.float64) if t.dtype==np.float32 else t)
    elif op=='Conv':
        pads=a.get('pads',[0,0,0,0]); assert pads[0]==pads[2] and pads[1]==pads[3]
        y=F.conv2d(I[0],I[1],I[2] if len(I)>2 else None,stride=a.get('strides',[1,1]),padding=(pads[0],pads[1]),dilation=a.get('dilations',[1,1]),groups=a.get('group',1))
    elif op=='ConvTranspose':
        pads=a.get('pads',[0,0,0,0])
        y=F.conv_transpose2d(I[0],I[1],I[2] if len(I)>2 else None,stride=a.get('strides',[1,1]),padding=(pads[0],pads[1]),groups=a.get('group',1))
    elif op=='BatchNormalization':
        y=F.batch_norm(I[0],I[3],I[4],I[1],I[2],False,0.0,a.get('epsilon',1e-5))
    elif op=='Mul': y=I[0]*I[1]
    elif op=='Add': y=I[0]+I[1]
    elif op=='Div': y=I[0]/I[1]
    elif op=='Clip':
        lo=I[1] if len(I)>1 and I[1] is not None else a.get('min',-np.inf); hi=I[2] if len(I)>2 and I[2] is not None else a.get('max',np.inf)
        y=torch.clamp(I[0],float(lo),float(hi))
    elif op=='GlobalAveragePool': y=I[0].mean(dim=(2,3),keepdim=True)
    elif op=='Relu': y=F.relu(I[0])
    elif op=='Sigmoid': y=torch.sigmoid(I[0])
    elif op=='HardSigmoid': y=torch.clamp(a.get('alpha',0.2)*I[0]+a.get('beta',0.5),0,1)
    elif op=='Concat': y=torch.cat(I,dim=a['axis'])
    elif op=='Resize':
        assert a.get('mode',b'nearest')==b'nearest', a
        sc=I[2] if len(I)>2 and I[2] is not None and I[2].numel() else None
        if sc is not None: y=F.interpolate(I[0],scale_factor=(float(sc[2]),float(sc[3])),mode='nearest')
        else:
            sz=I[3]; y=F.interpolate(I[0],size=(int(sz[2]),int(sz[3])),mode='nearest')
    else: raise SystemExit('op '+op)
    env[n.output[0]]=y
out=env[g.output[0].name].numpy().astype(np.float64)
out.tofile(sys.argv[5]); print(out.shape, out.max())
