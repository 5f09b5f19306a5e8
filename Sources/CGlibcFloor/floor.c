// Amazon Linux 2023 (Lambda's provided.al2023) has glibc 2.34. Debian 12
// links `hypot` and `hypotf` (used by swift-numerics, through
// async-http-client) to their GLIBC_2.35 versions, which 2.34 lacks. These
// definitions satisfy the references inside the bootstrap and call the
// GLIBC_2.2.5 versions, present in every glibc since. The glibc floor test
// checks that no other symbol newer than 2.34 is imported.
__asm__(".symver pgdr_hypot_2_2_5, hypot@GLIBC_2.2.5");
__asm__(".symver pgdr_hypotf_2_2_5, hypotf@GLIBC_2.2.5");

double pgdr_hypot_2_2_5(double x, double y);
float pgdr_hypotf_2_2_5(float x, float y);

double hypot(double x, double y) { return pgdr_hypot_2_2_5(x, y); }
float hypotf(float x, float y) { return pgdr_hypotf_2_2_5(x, y); }

// The same for libstdc++: GCC 12 (Debian 12) versions
// std::condition_variable::wait(std::unique_lock<std::mutex>&) as
// GLIBCXX_3.4.30; Amazon Linux 2023's GCC 11 library has it as GLIBCXX_3.4.11.
__asm__(".symver pgdr_cv_wait_3_4_11, _ZNSt18condition_variable4waitERSt11unique_lockISt5mutexE@GLIBCXX_3.4.11");
void pgdr_cv_wait_3_4_11(void *self, void *lock);
void _ZNSt18condition_variable4waitERSt11unique_lockISt5mutexE(void *self, void *lock) { pgdr_cv_wait_3_4_11(self, lock); }
