//! CUDA devices, device memory, PTX modules and kernel launches, through
//! cudarc's driver API loaded at run time (feature `cuda`).
//!
//! cudarc's `dynamic-loading` builds without CUDA installed but panics on the
//! first driver call when `libcuda` is absent, so every entry point here first
//! checks [`driver_present`] and turns absence into a [`Status::NoDevice`]
//! error, "no CUDA driver found". Driver calls also run under `catch_unwind`
//! (a driver too old for a symbol cudarc wants panics too), so nothing here
//! panics because of the machine it runs on.

use std::ffi::CStr;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::{Arc, OnceLock};

use cudarc::driver::{
    CudaContext, CudaFunction, CudaModule, CudaSlice, CudaStream, DriverError, LaunchConfig,
    PushKernelArg,
};
use cudarc::nvrtc::Ptx;

use crate::error::{RuntimeError, Status};

/// The most threads a block may have on every GPU tessera targets.
pub const MAX_BLOCK_THREADS: u64 = 1024;

/// Whether `libcuda` can be loaded; checked once per process.
pub fn driver_present() -> bool {
    static PRESENT: OnceLock<bool> = OnceLock::new();
    // SAFETY: `is_culib_present` only tries to load the library.
    *PRESENT.get_or_init(|| {
        catch_unwind(|| unsafe { cudarc::driver::sys::is_culib_present() }).unwrap_or(false)
    })
}

/// `CUDA_ERROR_X: description` for a driver error.
fn describe(e: &DriverError) -> String {
    let text = |s: Result<&CStr, DriverError>| s.map(|s| s.to_string_lossy().into_owned()).ok();
    match (text(e.error_name()), text(e.error_string())) {
        (Some(name), Some(string)) => format!("{name}: {string}"),
        _ => format!("{:?}", e.0),
    }
}

/// Runs the driver calls in `f`: an error if there is no driver, if a call
/// fails (`what` says which step), or if cudarc panics.
fn driver<T>(what: &str, f: impl FnOnce() -> Result<T, DriverError>) -> Result<T, RuntimeError> {
    if !driver_present() {
        return Err(RuntimeError::new(
            Status::NoDevice,
            "no CUDA driver found (libcuda could not be loaded)",
        ));
    }
    match catch_unwind(AssertUnwindSafe(f)) {
        Ok(Ok(v)) => Ok(v),
        Ok(Err(e)) => Err(RuntimeError::new(
            Status::Cuda,
            format!("{what}: {}", describe(&e)),
        )),
        Err(_) => Err(RuntimeError::new(
            Status::Cuda,
            format!("{what}: the CUDA driver lacks a function tessera needs (driver too old?)"),
        )),
    }
}

/// An error if `s` holds a NUL byte (the driver takes C strings).
fn no_nul(s: &str, what: &str) -> Result<(), RuntimeError> {
    if s.contains('\0') {
        return Err(RuntimeError::new(
            Status::InvalidArgument,
            format!("{what} contains a NUL byte"),
        ));
    }
    Ok(())
}

/// The number of CUDA devices; an error if there is no driver.
pub fn device_count() -> Result<usize, RuntimeError> {
    let n = driver("counting CUDA devices", CudaContext::device_count)?;
    Ok(usize::try_from(n).unwrap_or(0))
}

/// One GPU: its primary context and the stream tessera queues work on.
#[derive(Debug)]
pub struct CudaDevice {
    /// The device's primary context.
    ctx: Arc<CudaContext>,
    /// The stream every copy and launch of this device goes to, in order.
    stream: Arc<CudaStream>,
}

/// Device memory: bytes, freed on drop.
#[derive(Debug)]
pub struct DeviceBuffer {
    /// The allocation.
    slice: CudaSlice<u8>,
}

impl DeviceBuffer {
    /// Size in bytes.
    pub fn len(&self) -> usize {
        self.slice.len()
    }

    /// Whether the buffer holds no bytes.
    pub fn is_empty(&self) -> bool {
        self.slice.is_empty()
    }
}

/// A loaded PTX module.
#[derive(Debug)]
pub struct Module {
    /// The driver's module.
    module: Arc<CudaModule>,
}

/// A kernel (`.entry` function) of a loaded module.
#[derive(Debug, Clone)]
pub struct Kernel {
    /// The driver's function.
    func: CudaFunction,
    /// Its name, for messages.
    name: String,
}

impl Module {
    /// The kernel called `name`.
    pub fn kernel(&self, name: &str) -> Result<Kernel, RuntimeError> {
        no_nul(name, "kernel name")?;
        let func = driver(&format!("loading kernel '{name}'"), || {
            self.module.load_function(name)
        })?;
        Ok(Kernel {
            func,
            name: name.to_string(),
        })
    }
}

impl Kernel {
    /// The kernel's name.
    pub fn name(&self) -> &str {
        &self.name
    }
}

/// Grid and block sizes of a launch.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct LaunchDims {
    /// Blocks in the grid, (x, y, z); each at least 1.
    pub grid: (u32, u32, u32),
    /// Threads in a block, (x, y, z); each at least 1, product at most [`MAX_BLOCK_THREADS`].
    pub block: (u32, u32, u32),
    /// Dynamic shared memory per block, in bytes.
    pub shared_mem_bytes: u32,
}

impl LaunchDims {
    /// A one-dimensional launch with at least `n` threads in blocks of `block`
    /// threads: how a parallel loop of `n` iterations maps onto the GPU.
    pub fn linear(n: u64, block: u32) -> Result<LaunchDims, RuntimeError> {
        if block == 0 || u64::from(block) > MAX_BLOCK_THREADS {
            return Err(RuntimeError::new(
                Status::InvalidArgument,
                format!("block size must be 1 to {MAX_BLOCK_THREADS}, got {block}"),
            ));
        }
        // The x dimension of a grid holds at most 2^31 - 1 blocks.
        let blocks = n.div_ceil(u64::from(block)).max(1);
        let grid_x = u32::try_from(blocks)
            .ok()
            .filter(|&b| b <= i32::MAX as u32)
            .ok_or_else(|| {
                RuntimeError::new(
                    Status::InvalidArgument,
                    format!("{n} threads need {blocks} blocks, over the grid's limit"),
                )
            })?;
        Ok(LaunchDims {
            grid: (grid_x, 1, 1),
            block: (block, 1, 1),
            shared_mem_bytes: 0,
        })
    }

    /// An error unless every dim is positive and a block has at most
    /// [`MAX_BLOCK_THREADS`] threads.
    pub fn validate(&self) -> Result<(), RuntimeError> {
        let (g, b) = (self.grid, self.block);
        let threads = u64::from(b.0) * u64::from(b.1) * u64::from(b.2);
        if [g.0, g.1, g.2, b.0, b.1, b.2].contains(&0) || threads > MAX_BLOCK_THREADS {
            return Err(RuntimeError::new(
                Status::InvalidArgument,
                format!(
                    "invalid launch: grid {g:?} and block {b:?} must be positive, with at most {MAX_BLOCK_THREADS} threads a block"
                ),
            ));
        }
        Ok(())
    }
}

/// One kernel parameter, in the order the kernel declares them.
#[derive(Copy, Clone, Debug)]
pub enum KernelArg<'a> {
    /// A device pointer (a `.u64` parameter).
    Buffer(&'a DeviceBuffer),
    /// A 32-bit signed integer.
    I32(i32),
    /// A 64-bit signed integer (sizes and symbolic dims).
    I64(i64),
    /// A 32-bit unsigned integer.
    U32(u32),
    /// A 64-bit unsigned integer.
    U64(u64),
    /// A 32-bit float.
    F32(f32),
    /// A 64-bit float.
    F64(f64),
}

impl CudaDevice {
    /// Opens device `ordinal` (its primary context and a new stream). A
    /// [`Status::NoDevice`] error, "no CUDA driver found", when `libcuda` is
    /// absent, or when there is no such device.
    pub fn open(ordinal: usize) -> Result<CudaDevice, RuntimeError> {
        let count = device_count()?;
        if ordinal >= count {
            return Err(RuntimeError::new(
                Status::NoDevice,
                format!("no CUDA device {ordinal}: the driver reports {count}"),
            ));
        }
        driver(&format!("opening CUDA device {ordinal}"), || {
            let ctx = CudaContext::new(ordinal)?;
            let stream = ctx.new_stream()?;
            Ok(CudaDevice { ctx, stream })
        })
    }

    /// The device's ordinal.
    pub fn ordinal(&self) -> usize {
        self.ctx.ordinal()
    }

    /// The device's name ("NVIDIA H100 80GB HBM3").
    pub fn name(&self) -> Result<String, RuntimeError> {
        driver("reading the device name", || self.ctx.name())
    }

    /// The compute capability, (major, minor): (9, 0) for `sm_90`.
    pub fn compute_capability(&self) -> Result<(i32, i32), RuntimeError> {
        driver("reading the compute capability", || {
            self.ctx.compute_capability()
        })
    }

    /// Loads PTX text (as LLVM's NVPTX back end writes it); the driver
    /// compiles it for this device.
    pub fn load_ptx(&self, ptx: &str) -> Result<Module, RuntimeError> {
        no_nul(ptx, "PTX text")?;
        let module = driver("loading a PTX module", || {
            self.ctx.load_module(Ptx::from_src(ptx))
        })?;
        Ok(Module { module })
    }

    /// `len` bytes of zeroed device memory.
    pub fn alloc(&self, len: usize) -> Result<DeviceBuffer, RuntimeError> {
        let slice = driver(&format!("allocating {len} bytes on the device"), || {
            self.stream.alloc_zeros::<u8>(len)
        })?;
        Ok(DeviceBuffer { slice })
    }

    /// A device copy of `host`.
    pub fn upload(&self, host: &[u8]) -> Result<DeviceBuffer, RuntimeError> {
        let slice = driver("copying to the device", || self.stream.clone_htod(host))?;
        Ok(DeviceBuffer { slice })
    }

    /// Copies `host` into `dst`, which must have the same length.
    pub fn copy_to_device(&self, host: &[u8], dst: &mut DeviceBuffer) -> Result<(), RuntimeError> {
        same_len(host.len(), dst.len())?;
        driver("copying to the device", || {
            self.stream.memcpy_htod(host, &mut dst.slice)
        })
    }

    /// Copies `src` into `host`, which must have the same length; waits for
    /// the work queued before it.
    pub fn copy_to_host(&self, src: &DeviceBuffer, host: &mut [u8]) -> Result<(), RuntimeError> {
        same_len(src.len(), host.len())?;
        driver("copying from the device", || {
            self.stream.memcpy_dtoh(&src.slice, host)
        })
    }

    /// Waits until all work queued on this device's stream has finished.
    pub fn synchronize(&self) -> Result<(), RuntimeError> {
        driver("synchronising the device", || self.stream.synchronize())
    }

    /// Queues `kernel` with `dims` and `args` on this device's stream;
    /// returns without waiting for it.
    ///
    /// # Safety
    /// `args` match the kernel's parameters in number, order and type, and
    /// the kernel stays inside the buffers it is given.
    pub unsafe fn launch(
        &self,
        kernel: &Kernel,
        dims: LaunchDims,
        args: &[KernelArg<'_>],
    ) -> Result<(), RuntimeError> {
        dims.validate()?;
        let cfg = LaunchConfig {
            grid_dim: dims.grid,
            block_dim: dims.block,
            shared_mem_bytes: dims.shared_mem_bytes,
        };
        driver(&format!("launching kernel '{}'", kernel.name), || {
            let mut builder = self.stream.launch_builder(&kernel.func);
            for arg in args {
                match arg {
                    KernelArg::Buffer(b) => builder.arg(&b.slice),
                    KernelArg::I32(v) => builder.arg(v),
                    KernelArg::I64(v) => builder.arg(v),
                    KernelArg::U32(v) => builder.arg(v),
                    KernelArg::U64(v) => builder.arg(v),
                    KernelArg::F32(v) => builder.arg(v),
                    KernelArg::F64(v) => builder.arg(v),
                };
            }
            // SAFETY: per this function's contract.
            unsafe { builder.launch(cfg) }.map(|_| ())
        })
    }
}

/// An error unless a copy's two sides have the same length.
fn same_len(src: usize, dst: usize) -> Result<(), RuntimeError> {
    if src != dst {
        return Err(RuntimeError::new(
            Status::InvalidArgument,
            format!("copy of {src} bytes into a buffer of {dst} bytes"),
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `add_one(float* data, u32 n)`: `data[i] += 1` for `i < n`.
    const ADD_ONE_PTX: &str = r#"
.version 7.0
.target sm_52
.address_size 64

.visible .entry add_one(
    .param .u64 p_data,
    .param .u32 p_n
)
{
    .reg .pred %p<2>;
    .reg .b32 %r<6>;
    .reg .f32 %f<3>;
    .reg .b64 %rd<5>;

    ld.param.u64 %rd1, [p_data];
    ld.param.u32 %r1, [p_n];
    mov.u32 %r2, %ctaid.x;
    mov.u32 %r3, %ntid.x;
    mov.u32 %r4, %tid.x;
    mad.lo.s32 %r5, %r2, %r3, %r4;
    setp.ge.u32 %p1, %r5, %r1;
    @%p1 bra DONE;
    cvta.to.global.u64 %rd2, %rd1;
    mul.wide.u32 %rd3, %r5, 4;
    add.s64 %rd4, %rd2, %rd3;
    ld.global.f32 %f1, [%rd4];
    add.f32 %f2, %f1, 0f3F800000;
    st.global.f32 [%rd4], %f2;
DONE:
    ret;
}
"#;

    #[test]
    fn no_driver_is_a_clear_error() {
        if driver_present() {
            // A GPU machine: opening device 0 works or names the device problem.
            if let Err(e) = CudaDevice::open(0) {
                assert!(matches!(e.status, Status::NoDevice | Status::Cuda), "{e}");
            }
            return;
        }
        let e = CudaDevice::open(0).unwrap_err();
        assert_eq!(e.status, Status::NoDevice);
        assert!(e.message.starts_with("no CUDA driver found"), "{e}");
        assert_eq!(device_count().unwrap_err().status, Status::NoDevice);
    }

    #[test]
    fn launch_dims() {
        assert_eq!(
            LaunchDims::linear(1000, 256).unwrap(),
            LaunchDims {
                grid: (4, 1, 1),
                block: (256, 1, 1),
                shared_mem_bytes: 0
            }
        );
        assert_eq!(LaunchDims::linear(0, 128).unwrap().grid, (1, 1, 1));
        assert!(LaunchDims::linear(10, 0).is_err());
        assert!(LaunchDims::linear(10, 2048).is_err());
        assert!(LaunchDims::linear(u64::MAX, 1).is_err());
        LaunchDims::linear(1 << 20, 1024)
            .unwrap()
            .validate()
            .unwrap();
        let bad = LaunchDims {
            grid: (1, 0, 1),
            block: (32, 1, 1),
            shared_mem_bytes: 0,
        };
        assert_eq!(bad.validate().unwrap_err().status, Status::InvalidArgument);
        let big = LaunchDims {
            grid: (1, 1, 1),
            block: (32, 32, 2),
            shared_mem_bytes: 0,
        };
        assert!(big.validate().is_err());
    }

    #[test]
    fn add_one_on_a_gpu() {
        if !driver_present() || device_count().unwrap_or(0) == 0 {
            eprintln!("no CUDA device: add_one_on_a_gpu checks only that it is skipped");
            return;
        }
        let dev = CudaDevice::open(0).unwrap();
        let module = dev.load_ptx(ADD_ONE_PTX).unwrap();
        let kernel = module.kernel("add_one").unwrap();
        assert!(module.kernel("missing").is_err());
        let n = 1000u32;
        let host: Vec<f32> = (0..n).map(|i| i as f32).collect();
        let bytes: Vec<u8> = host.iter().flat_map(|x| x.to_ne_bytes()).collect();
        let buf = dev.upload(&bytes).unwrap();
        // SAFETY: add_one takes (float*, u32) and stays below n.
        unsafe {
            dev.launch(
                &kernel,
                LaunchDims::linear(n.into(), 256).unwrap(),
                &[KernelArg::Buffer(&buf), KernelArg::U32(n)],
            )
        }
        .unwrap();
        let mut out = vec![0u8; bytes.len()];
        dev.copy_to_host(&buf, &mut out).unwrap();
        let got: Vec<f32> = out
            .chunks_exact(4)
            .map(|c| f32::from_ne_bytes(c.try_into().unwrap()))
            .collect();
        assert!(got.iter().zip(&host).all(|(g, h)| *g == h + 1.0));
        assert_eq!(dev.load_ptx("not ptx").unwrap_err().status, Status::Cuda);
    }
}
