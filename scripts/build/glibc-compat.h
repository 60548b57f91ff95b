/* Force-included (-include) into every compiled native addon.
 *
 * glibc 2.34 moved the pthread functions into libc.so.6 under a new symbol
 * version, so an addon linked on Debian 12 asks for pthread_create@GLIBC_2.34
 * and will not load on glibc 2.28..2.33 (Debian 10/11, Raspberry Pi OS 11),
 * although Node 20 itself runs there. Binding the references to the symbols'
 * original versions keeps the addons at the same glibc floor as Node; glibc
 * 2.34+ still provides those versions, and older glibc resolves them from
 * libpthread.so.0, which node itself links.
 *
 * The build checks every addon with objdump -T; a new symbol above the floor
 * fails the build and belongs in this list.
 */
#if defined(__x86_64__)
#define RINGBEAT_GLIBC_BASE "GLIBC_2.2.5"
#elif defined(__aarch64__)
#define RINGBEAT_GLIBC_BASE "GLIBC_2.17"
#elif defined(__arm__)
#define RINGBEAT_GLIBC_BASE "GLIBC_2.4"
#endif
#ifdef RINGBEAT_GLIBC_BASE
__asm__(".symver pthread_create,pthread_create@" RINGBEAT_GLIBC_BASE);
__asm__(".symver pthread_join,pthread_join@" RINGBEAT_GLIBC_BASE);
__asm__(".symver pthread_detach,pthread_detach@" RINGBEAT_GLIBC_BASE);
#endif
