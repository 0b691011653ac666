"""The compiled kernels (stencilgen._native). Optional: without a C compiler the package installs
without them and uses their numpy forms, which give the same results."""

from setuptools import Extension, setup

setup(
    ext_modules=[
        Extension(
            "stencilgen._native",
            ["stencilgen/_native.c"],
            extra_compile_args=["-O2", "-ffp-contract=off", "-fno-fast-math", "-pthread"],
            extra_link_args=["-pthread"],
            optional=True,
        )
    ]
)
