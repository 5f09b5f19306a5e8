// See hypot.c: keeps the Lambda bootstrap within glibc 2.34.
